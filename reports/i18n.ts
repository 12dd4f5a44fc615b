/**
 * Chart text in English and in the original report's Russian. The figure titles and axis
 * labels of `--lang ru` are the original's own, word for word, except those of the
 * accuracy-against-time and ladder figures, which the original does not have.
 *
 * @module
 */

/** Languages of chart text. */
export const LANGS = ["en", "ru"] as const;
/** A language of chart text. */
export type Lang = typeof LANGS[number];

/** The text drawn on charts. */
export interface ChartText {
  /** Title of the accuracy-per-epoch figure. */
  accuracyTitle: string;
  /** Title of the loss-per-epoch figure. */
  lossTitle: string;
  /** X axis of the per-epoch figures. */
  epochAxis: string;
  /** Y axis of the accuracy figure. */
  accuracyAxis: string;
  /** Y axis of the loss figure. */
  lossAxis: string;
  /** Title of the accuracy-against-training-time figure. */
  accuracyTimeTitle: string;
  /** X axis of the accuracy-against-training-time figure. */
  trainSecondsAxis: string;
  /** Title of the ladder figure (test accuracy per rung). */
  ladderTitle: string;
  /** Subtitle of the ladder figure: what its points are. */
  ladderSubtitle: string;
  /** X axis of the ladder figure. */
  rungAxis: string;
  /** Subtitle naming profile and engine. */
  profileEngine: (profile: string, engine: string) => string;
  /** Title of the relative-speed bar chart. */
  relativeSpeedTitle: (baseline: string) => string;
  /** Y axis of the relative-speed bar chart. */
  relativeSpeedAxis: string;
  /** X axis of the relative-speed bar chart. */
  configurationAxis: string;
}

/** Chart text per language. */
export const CHART_TEXT: Record<Lang, ChartText> = {
  en: {
    accuracyTitle: "Test accuracy per epoch by architecture",
    lossTitle: "Test loss per epoch by architecture",
    epochAxis: "Epoch",
    accuracyAxis: "Test accuracy",
    lossAxis: "Test loss",
    accuracyTimeTitle: "Test accuracy against training time",
    trainSecondsAxis: "Training seconds (cumulative)",
    ladderTitle: "Test accuracy per rung of the ladder of causes",
    ladderSubtitle: "one switch per rung; median over runs after the last epoch",
    rungAxis: "Rung (one switch each)",
    profileEngine: (p, e) => `profile ${p}, engine ${e}`,
    relativeSpeedTitle: (b) => `Training speed relative to ${b} (higher is faster)`,
    relativeSpeedAxis: "Speed relative to the baseline (×)",
    configurationAxis: "Architecture · profile · engine",
  },
  ru: {
    accuracyTitle: "Графики зависимости точности моделей от выбранной архитектуры",
    lossTitle: "Графики зависимости значения функции потерь от выбранной архитектуры",
    epochAxis: "Номер эпохи",
    accuracyAxis: "Точность модели",
    lossAxis: "Значение функции потерь",
    accuracyTimeTitle: "Точность модели в зависимости от времени обучения",
    trainSecondsAxis: "Время обучения, с (нарастающим итогом)",
    ladderTitle: "Точность модели на каждой ступени лестницы причин",
    ladderSubtitle: "одно изменение на ступень; медиана по запускам после последней эпохи",
    rungAxis: "Ступень (по одному изменению)",
    profileEngine: (p, e) => `профиль ${p}, движок ${e}`,
    relativeSpeedTitle: (b) => `Скорость обучения относительно ${b} (больше — быстрее)`,
    relativeSpeedAxis: "Скорость относительно базовой машины (×)",
    configurationAxis: "Архитектура · профиль · движок",
  },
};

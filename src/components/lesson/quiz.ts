/**
 * Build-time helpers for `Quiz.astro`: the question type, validation and the
 * tiny inline formatter used for question, option and explanation text.
 */

/** An answer option: plain text, or text plus a note on why it is wrong. */
export type QuizOption = string | { text: string; why?: string };

/** One multiple-choice question. */
export interface QuizQuestion {
  /** The question, shown as the fieldset legend. */
  question: string;
  /** Two or more options; the learner picks one. */
  options: QuizOption[];
  /** Zero-based index of the correct option. */
  answer: number;
  /** Shown after a correct answer: why it is correct. */
  explanation: string;
}

/**
 * Throws at build time when a quiz is malformed, so a broken knowledge check
 * never reaches a learner.
 */
export function validateQuiz(questions: readonly QuizQuestion[]): void {
  if (questions.length === 0) throw new Error('Quiz: at least one question is required.');
  for (const { question, options, answer, explanation } of questions) {
    if (options.length < 2) throw new Error(`Quiz: "${question}" needs at least two options.`);
    if (!Number.isInteger(answer) || answer < 0 || answer >= options.length) {
      throw new Error(`Quiz: "${question}" has answer ${answer}, but only ${options.length} options.`);
    }
    if (!explanation.trim()) throw new Error(`Quiz: "${question}" needs an explanation.`);
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML, then turns `backtick spans` into `<code>` elements. */
export function formatInline(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
  return escaped.replace(/`([^`]+)`/g, '<code>$1</code>');
}

/**
 * A stable prefix for radio-group names, derived from the questions so that
 * several quizzes on one page never share a group and builds stay reproducible.
 */
export function quizNamespace(questions: readonly QuizQuestion[]): string {
  let hash = 5381;
  for (const character of questions.map((item) => item.question).join('\n')) {
    hash = ((hash * 33) ^ character.charCodeAt(0)) >>> 0;
  }
  return `quiz-${hash.toString(36)}`;
}

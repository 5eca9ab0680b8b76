/** The framework's version, shown by the banner and `status`. */
export const VERSION = "0.1.0";

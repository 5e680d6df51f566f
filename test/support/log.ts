import { createLogger } from "../../src/log.js";

/** The tests' logger: the project's, at LOG_LEVEL, else warn (a test's output stays readable). */
export const log = createLogger(process.env.LOG_LEVEL ?? "warn");

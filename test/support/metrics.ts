import { createMetrics } from "../../src/metrics.js";

/** The tests' metrics, shared by the components a test file builds (as runtime() shares one set). */
export const metrics = createMetrics();

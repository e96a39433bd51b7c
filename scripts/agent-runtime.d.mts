export declare const AGENT_V8_FLAGS: readonly string[];
export declare const AGENT_MALLOC_ENV: Readonly<Record<string, string>>;

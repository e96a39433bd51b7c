export declare const NODE_VERSION: string;
export declare const NODE_DIST: Readonly<Record<'x64' | 'arm64', { name: string; integrity: string }>>;

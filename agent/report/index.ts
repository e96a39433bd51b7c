// Reports over stored windows: pure functions from decoded profiles to report objects that the
// command line prints (as a table or JSON). Nothing here reads the store or the clock.
export {
  CompareError,
  TOP_CLASSES,
  compareSegments,
  compareVersions,
  defaultReference,
  qualityColumn,
  type CompareInput,
  type Comparison,
  type DriftColumn,
  type LatencyQuantiles,
  type PredictionColumn,
  type QualityColumn,
  type SegmentColumn,
  type SegmentComparison,
  type StoredBaselineProfile,
  type VersionColumn,
  type VersionComparison,
} from './side-by-side.js';

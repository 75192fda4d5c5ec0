// All an app on this package needs: the helper, standalone output, and its model folders traced in with the route.
import { withCrossEncoder } from 'langchain-cross-encoder/next';

/** @type {import('next').NextConfig} */
export default withCrossEncoder({
  output: 'standalone',
  outputFileTracingIncludes: { '/api/rerank': ['./models/**'] },
});

// workerd's Cache API goes to a service; this one answers as an empty cache (every match a miss, every put
// accepted), which is what the Worker meets on a host where nothing has been cached yet.
export default {
  async fetch(request) {
    if (request.method === 'PUT') return new Response(null, { status: 204 });
    return new Response(null, { status: 504, headers: { 'cf-cache-status': 'MISS' } });
  },
};

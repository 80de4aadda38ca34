import proxy from '@fastify/http-proxy';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController } from 'fastify';
/**
 * Serves the built dashboard and forwards /api/* to the metrics API, so a browser needs only this
 * port. The API address is read at run time, never baked into the bundle.
 */
export function buildDashboardServer(o) {
    // Browsers poll /api every few seconds; per-request lines would drown everything else.
    const app = Fastify({ logger: o.logger ?? false, logController: new LogController({ disableRequestLogging: true }) });
    app.register(proxy, {
        upstream: o.config.metricsApiUrl,
        prefix: '/api',
        httpMethods: ['GET', 'HEAD'],
        replyOptions: {
            rewriteRequestHeaders: (_req, headers) => {
                const out = { ...headers };
                // The browser never sees the API token; the server adds it.
                if (o.config.metricsApiToken)
                    out.authorization = `Bearer ${o.config.metricsApiToken}`;
                else
                    delete out.authorization;
                delete out.cookie;
                return out;
            },
            onError: (reply, { error }) => {
                reply.code(502).send({
                    error: { message: `The metrics API at ${o.config.metricsApiUrl} could not be reached (${error.message}).`, type: 'upstream_error', param: null, code: 'metrics_api_unreachable' },
                });
            },
        },
    });
    app.get('/config.json', async () => ({ proxyUrl: o.config.proxyPublicUrl, metricsApiUrl: o.config.metricsApiUrl }));
    app.get('/health', async () => ({ status: 'ok' }));
    app.register(fastifyStatic, { root: o.staticDir, wildcard: false, maxAge: '1h', immutable: false });
    // The SPA has one page; anything else that is not a file gets it.
    app.setNotFoundHandler((request, reply) => {
        if (request.method !== 'GET' || request.url.startsWith('/api/'))
            return reply.code(404).send({ error: { message: 'Not found', type: 'invalid_request_error', param: null, code: 'unknown_url' } });
        return reply.sendFile('index.html');
    });
    return app;
}
//# sourceMappingURL=app.js.map
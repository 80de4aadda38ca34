import type { DashboardConfig } from '@llm-proxy/core';
import Fastify, { type FastifyServerOptions } from 'fastify';
export interface DashboardServerOptions {
    config: Pick<DashboardConfig, 'metricsApiUrl' | 'metricsApiToken' | 'proxyPublicUrl'>;
    /** The built SPA (frontend/dist). */
    staticDir: string;
    logger?: FastifyServerOptions['logger'];
}
/**
 * Serves the built dashboard and forwards /api/* to the metrics API, so a browser needs only this
 * port. The API address is read at run time, never baked into the bundle.
 */
export declare function buildDashboardServer(o: DashboardServerOptions): Fastify.FastifyInstance<Fastify.RawServerDefault, import("http").IncomingMessage, import("http").ServerResponse<import("http").IncomingMessage>, Fastify.FastifyBaseLogger, Fastify.FastifyTypeProviderDefault> & PromiseLike<Fastify.FastifyInstance<Fastify.RawServerDefault, import("http").IncomingMessage, import("http").ServerResponse<import("http").IncomingMessage>, Fastify.FastifyBaseLogger, Fastify.FastifyTypeProviderDefault>> & {
    __linterBrands: "SafePromiseLike";
};

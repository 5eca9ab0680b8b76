/**
 * Components for processes that cooperate: {@link ChannelClient} / {@link ChannelServer}
 * (publish/subscribe and queues), {@link GlobalDataClient} / {@link GlobalDataServer} (shared
 * variables with atomic operations), both on an embedded server or on Redis;
 * {@link FileMonitor} (reload on code change) and {@link RedisSessionHandler}.
 *
 * @module
 */
export { type ChannelCallback, ChannelClient, type ChannelOptions } from "./channel.ts";
export { ChannelServer } from "./channel_server.ts";
export { FileMonitor, type FileMonitorOptions } from "./file_monitor.ts";
export { GlobalDataClient, type GlobalDataOptions, GlobalDataServer } from "./global_data.ts";
export { RedisSessionHandler } from "./redis_session.ts";

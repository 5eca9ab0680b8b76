// MQTT with MQTT.js, both ways. TCP to MQTT: a line "topic message" on PORT is published
// (QoS 1). MQTT to TCP: every message on devices/# goes to each connection on PORT_OUT.
import mqtt, { type MqttClient } from "mqtt";
import { Worker } from "workerman-ts";

const MQTT_URL = process.env.MQTT_URL ?? "mqtt://127.0.0.1:1883";

const toMqtt = new Worker(`text://0.0.0.0:${process.env.PORT ?? 2345}`);
toMqtt.count = 2;
let publisher: MqttClient;
toMqtt.onWorkerStart = async () => {
  publisher = await mqtt.connectAsync(MQTT_URL);
};
toMqtt.onWorkerStop = () => publisher?.endAsync();
toMqtt.onMessage = async (conn, line: string) => {
  const space = line.indexOf(" ");
  await publisher.publishAsync(line.slice(0, space), line.slice(space + 1), { qos: 1 });
  conn.send("published");
};

const fromMqtt = new Worker(`text://0.0.0.0:${process.env.PORT_OUT ?? 2346}`);
fromMqtt.count = 2;
let subscriber: MqttClient;
fromMqtt.onWorkerStart = async () => {
  subscriber = await mqtt.connectAsync(MQTT_URL);
  subscriber.on("message", (topic, payload) => {
    for (const conn of fromMqtt.connections.values()) conn.send(`${topic} ${payload}`);
  });
  await subscriber.subscribeAsync("devices/#");
};
fromMqtt.onWorkerStop = () => subscriber?.endAsync();

Worker.runAll();

/** A websocket:// server connection over an in-memory socket, for unit tests. */
import { TcpConnection, Websocket } from "../../mod.ts";
import { fakeConnection, type TestConnection } from "./fake_conn.ts";
import { cat, headEnd, parseFrames } from "./ws_frames.ts";

/**
 * A TcpConnection speaking websocket:// over a {@link FakeConn}: `setup` runs before any byte
 * arrives; `messages` collects what onMessage received, `output()` is everything written,
 * `head()` the handshake response and `frames()` the frames written after it.
 */
export function wsServer(setup: (conn: TestConnection) => void = () => {}) {
  const { socket, conn } = fakeConnection(Websocket);
  const messages: unknown[] = [];
  conn.onMessage = (_c: TestConnection, m: unknown) => {
    messages.push(m);
  };
  setup(conn);
  const output = () => cat(...socket.writes);
  const head = () => new TextDecoder().decode(output().subarray(0, headEnd(output())));
  const frames = () => parseFrames(output().subarray(headEnd(output()))).frames;
  const closed = () => socket.ended || socket.destroyed || conn.getStatus() !== TcpConnection.STATUS_ESTABLISHED;
  return { socket, conn, messages, output, head, frames, closed };
}

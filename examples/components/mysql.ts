// MySQL (and MariaDB) with mysql2: a promise pool per process, opened in onWorkerStart and
// closed in onWorkerStop. Send a name, get its row id and the number of rows back.
import mysql, { type ResultSetHeader, type RowDataPacket } from "mysql2/promise";
import { Worker } from "workerman-ts";

const worker = new Worker(`text://0.0.0.0:${process.env.PORT ?? 2345}`);
worker.count = 2;

let db: mysql.Pool;
worker.onWorkerStart = async () => {
  db = mysql.createPool({ uri: process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test", connectionLimit: 5 });
  await db.query("CREATE TABLE IF NOT EXISTS users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64))");
};
worker.onWorkerStop = () => db?.end(); // awaited: a stopped or reloaded process leaves no connection open

worker.onMessage = async (conn, name: string) => {
  const [added] = await db.execute<ResultSetHeader>("INSERT INTO users (name) VALUES (?)", [name]);
  const [[{ n }]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM users");
  conn.send(`user ${added.insertId} ${name}, ${n} users`);
};

Worker.runAll();

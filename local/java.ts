import { spawnSync } from "node:child_process";

export const JAVA_HELP = [
  "MicroPay's local stack runs AWS's DynamoDB Local, which needs Java 17 or newer.",
  "Install it, then run the command again:",
  "  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless",
  "  macOS (Homebrew): brew install openjdk@17",
  "  or any JDK/JRE 17+ from https://adoptium.net, with `java` on your PATH.",
].join("\n");

/** The major version of `java` on PATH, or null when there is none. */
export function javaMajorVersion(): number | null {
  const out = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (out.error || out.status !== 0) return null;
  const text = `${out.stderr}${out.stdout}`;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!m?.[1]) return null;
  const major = Number(m[1]);
  return major === 1 && m[2] ? Number(m[2]) : major;
}

/** Exits the process with an install hint when Java 17+ is missing. */
export function requireJava(): void {
  const major = javaMajorVersion();
  if (major === null || major < 17) {
    process.stderr.write(
      `${major === null ? "Java was not found." : `Java ${major} is too old.`}\n${JAVA_HELP}\n`,
    );
    process.exit(1);
  }
}

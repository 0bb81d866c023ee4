// Generates the UI's types from the protos (npm run gen, run by build, test and dev): protoc with protoc-gen-es,
// declarations only (target=dts) with JSON types (json_types=true), into src/generated/, which git ignores.
// protoc comes from Maven Central: the Maven build copies it to target/protoc/protoc, unpacks the protos the API
// imports (google/api, google/protobuf) into target/proto-include, and passes both as ND_PROTOC and ND_PROTO_INCLUDE;
// run by hand, those same paths are the default.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const PROTOS = "../proto/src/main/proto";
const OUT = "src/generated";
const protoc = process.env.ND_PROTOC || "target/protoc/protoc";
const include = process.env.ND_PROTO_INCLUDE || "target/proto-include";
const plugin = join("node_modules", ".bin", process.platform === "win32" ? "protoc-gen-es.cmd" : "protoc-gen-es");
// comparison.proto's HTTP routes (google.api.http) import these: generated too, so that its declarations resolve
// (google/protobuf's types come with @bufbuild/protobuf)
const IMPORTED = ["google/api/annotations.proto", "google/api/http.proto"];
const MAVEN = "run `./mvnw -B -pl frontend generate-sources` in the repository root";

function fail(message) {
  console.error(`npm run gen: ${message}`);
  process.exit(1);
}

if (!existsSync(protoc)) {
  fail(`protoc is missing (no ${protoc}): the Maven build copies it from Maven Central (com.google.protobuf:protoc); ` +
    `${MAVEN}, or set ND_PROTOC to a protoc binary.`);
}
try {
  accessSync(protoc, constants.X_OK);
} catch {
  fail(`protoc is not executable (${protoc}): chmod +x it, or ${MAVEN}.`);
}
const missing = [...IMPORTED, "google/protobuf/timestamp.proto"].filter((f) => !existsSync(join(include, f)));
if (missing.length > 0) {
  fail(`the protos the API imports are missing from ${include} (${missing.join(", ")}): the Maven build unpacks ` +
    `them from proto-google-common-protos and protobuf-java; ${MAVEN}, or set ND_PROTO_INCLUDE to a folder ` +
    "holding them.");
}
if (!existsSync(plugin)) fail(`${plugin} is missing: run npm ci.`);

const ours = readdirSync(PROTOS, { recursive: true }).map((f) => String(f).split("\\").join("/"))
  .filter((f) => f.endsWith(".proto")).sort();
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const run = spawnSync(protoc, [`--proto_path=${PROTOS}`, `--proto_path=${include}`, `--plugin=protoc-gen-es=${plugin}`,
  `--es_out=${OUT}`, "--es_opt=target=dts,json_types=true", ...ours, ...IMPORTED], { stdio: "inherit" });
if (run.error) fail(`could not run ${protoc}: ${run.error.message}`);
if (run.status !== 0) fail(`protoc failed (exit ${run.status}).`);
console.log(`npm run gen: the types of ${ours.length} protos in ${OUT}/`);

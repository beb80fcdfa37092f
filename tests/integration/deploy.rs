//! The Kubernetes simulation Job as its manifest writes it: every index's pod
//! command run with `JOB_COMPLETION_INDEX` set as Kubernetes sets it, then the
//! merge Job's command, on the volumes the manifests mount; the merged result
//! must be the unsharded run's, to the byte. The manifests cannot drift from
//! the CLI.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use yaml_serde::Value;

fn manifests(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/kubernetes")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    yaml_serde::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

fn at<'v>(v: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[k],
    })
}

fn text(v: &Value, path: &str) -> String {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string"))
        .to_string()
}

fn kind<'v>(docs: &'v [Value], kind: &str, name: &str) -> &'v Value {
    docs.iter()
        .find(|d| text(d, "kind") == kind && text(d, "metadata.name") == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Kubernetes' `$(VAR)` expansion of a container's command and args: `$(NAME)`
/// becomes the variable's value when it is defined, `$$` a literal `$`.
fn expand(s: &str, env: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("$$") {
            out.push('$');
            rest = t;
        } else if let Some((name, t)) = tail
            .strip_prefix("$(")
            .and_then(|t| t.split_once(')'))
            .filter(|(n, _)| env.contains_key(*n))
        {
            out.push_str(&env[name]);
            rest = t;
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The pod's volumes on this machine: a ConfigMap's data written out, a
/// claim's subPath as a directory of `claims` (shared across Jobs).
fn mounts(pod: &Value, docs: &[Value], claims: &Path) -> Vec<(String, PathBuf)> {
    let volumes = at(pod, "volumes").as_sequence().unwrap();
    let container = at(pod, "containers.0");
    let mut out = Vec::new();
    for m in at(container, "volumeMounts").as_sequence().unwrap() {
        let name = text(m, "name");
        let vol = volumes.iter().find(|v| text(v, "name") == name).unwrap();
        let dir = if let Some(cm) = vol["configMap"]["name"].as_str() {
            let dir = claims.join(format!("configmap-{cm}"));
            std::fs::create_dir_all(&dir).unwrap();
            for (k, v) in kind(docs, "ConfigMap", cm)["data"].as_mapping().unwrap() {
                std::fs::write(dir.join(k.as_str().unwrap()), v.as_str().unwrap()).unwrap();
            }
            dir
        } else {
            let claim = text(vol, "persistentVolumeClaim.claimName");
            let sub = m["subPath"].as_str().unwrap_or("");
            claims.join(format!("claim-{claim}")).join(sub)
        };
        std::fs::create_dir_all(&dir).unwrap();
        out.push((text(m, "mountPath"), dir));
    }
    out
}

/// A path inside the pod, on this machine.
fn local(arg: &str, mounts: &[(String, PathBuf)]) -> String {
    for (mp, dir) in mounts {
        if arg == mp {
            return dir.display().to_string();
        }
        if let Some(rest) = arg.strip_prefix(&format!("{mp}/")) {
            return dir.join(rest).display().to_string();
        }
    }
    arg.to_string()
}

/// Runs the pod's container command as Kubernetes would, with `index` as its
/// completion index (None outside an Indexed Job).
fn run_pod(pod: &Value, docs: &[Value], claims: &Path, index: Option<u64>) {
    let container = at(pod, "containers.0");
    let command: Vec<&str> = at(container, "command")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        command,
        ["smefin"],
        "the image's binary is /usr/local/bin/smefin"
    );
    let mut env = HashMap::new();
    if let Some(i) = index {
        env.insert("JOB_COMPLETION_INDEX".to_string(), i.to_string());
    }
    for e in container["env"].as_sequence().into_iter().flatten() {
        if let Some(v) = e["value"].as_str() {
            env.insert(text(e, "name"), expand(v, &env));
        } else if text(e, "valueFrom.fieldRef.fieldPath")
            == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        {
            env.insert(text(e, "name"), index.expect("an Indexed Job").to_string());
        }
    }
    let mounts = mounts(pod, docs, claims);
    let args: Vec<String> = at(container, "args")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| local(&expand(a.as_str().unwrap(), &env), &mounts))
        .collect();
    let o = Command::new(env!("CARGO_BIN_EXE_smefin"))
        .args(&args)
        .envs(&env)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pod {index:?}: smefin {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs smefin with `args`, requires success, returns its standard output.
fn smefin(args: &[String]) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_smefin"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "smefin {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

#[test]
fn the_simulation_job_as_written_merges_to_the_unsharded_run() {
    let sim = manifests("simulate-job.yaml");
    let merge = manifests("merge-job.yaml");
    let job = kind(&sim, "Job", "smefin-simulate");
    assert_eq!(text(job, "spec.completionMode"), "Indexed");
    assert_eq!(text(job, "spec.template.spec.restartPolicy"), "Never");
    assert!(
        at(job, "spec.backoffLimitPerIndex")
            .as_u64()
            .is_some_and(|b| b >= 1)
    );
    let n = at(job, "spec.completions").as_u64().unwrap();
    assert!(n >= 2);

    let claims = tempfile::tempdir().unwrap();
    for i in 0..n {
        run_pod(at(job, "spec.template.spec"), &sim, claims.path(), Some(i));
    }
    let merge_job = kind(&merge, "Job", "smefin-merge");
    run_pod(
        at(merge_job, "spec.template.spec"),
        &sim,
        claims.path(),
        None,
    );

    // where the merge wrote its result, read from its own arguments
    let args: Vec<&str> = at(merge_job, "spec.template.spec.containers.0.args")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let out = args[args.iter().position(|a| *a == "--out").unwrap() + 1];
    let mounts = mounts(at(merge_job, "spec.template.spec"), &sim, claims.path());
    let merged = std::fs::read_to_string(local(out, &mounts)).unwrap();
    let parts = std::fs::read_dir(local("/runs", &mounts))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("part-")
        })
        .count() as u64;
    assert_eq!(parts, n, "one part file per index");

    // the unsharded run of the same spec, in one process
    let spec = claims.path().join("configmap-smefin-pool-spec/pool.toml");
    let whole = smefin(&[
        "simulate".into(),
        spec.display().to_string(),
        "--method".into(),
        "monte-carlo".into(),
        "--json".into(),
    ]);
    assert!(
        merged.as_bytes() == whole.as_slice(),
        "the merged result differs from the unsharded run"
    );
    let v: serde_json::Value = serde_json::from_str(&merged).unwrap();
    let spec: toml::Value = toml::from_str(&std::fs::read_to_string(&spec).unwrap()).unwrap();
    assert_eq!(v["scenarios"].as_i64(), spec["scenarios"].as_integer());
}

/// The stress-grid Job as written: every index's pod command, then the
/// parts merged, equal to the grid run in one process.
#[test]
fn the_stress_job_as_written_merges_to_the_whole_grid() {
    let sim = manifests("simulate-job.yaml");
    let stress = manifests("stress-job.yaml");
    let job = kind(&stress, "Job", "smefin-stress");
    assert_eq!(text(job, "spec.completionMode"), "Indexed");
    let n = at(job, "spec.completions").as_u64().unwrap();
    let claims = tempfile::tempdir().unwrap();
    let pod = at(job, "spec.template.spec");
    for i in 0..n {
        // its spec ConfigMap is simulate-job.yaml's
        run_pod(pod, &sim, claims.path(), Some(i));
    }
    let mounts = mounts(pod, &sim, claims.path());
    let runs = local("/runs", &mounts);
    let merged = smefin(&["merge".into(), runs, "--json".into()]);
    // the same grid in one process: the pod's arguments without the shard
    let args: Vec<String> = at(pod, "containers.0.args")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| local(a.as_str().unwrap(), &mounts))
        .collect();
    let cut = args.iter().position(|a| a == "--shard").unwrap();
    let mut one = args[..cut].to_vec();
    one.push("--json".into());
    let whole = smefin(&one);
    assert!(
        merged == whole,
        "the merged grid differs from the whole grid"
    );
    let v: serde_json::Value = serde_json::from_slice(&merged).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 32);
}

#[test]
fn kubernetes_expansion_is_as_documented() {
    let env = HashMap::from([("JOB_COMPLETION_INDEX".to_string(), "3".to_string())]);
    assert_eq!(expand("$(JOB_COMPLETION_INDEX)/8", &env), "3/8");
    assert_eq!(
        expand("part-$(JOB_COMPLETION_INDEX).json", &env),
        "part-3.json"
    );
    assert_eq!(
        expand("$$(JOB_COMPLETION_INDEX)", &env),
        "$(JOB_COMPLETION_INDEX)"
    );
    assert_eq!(expand("$(UNSET)", &env), "$(UNSET)");
}

/// Hardening row 14, the deployment read as an attacker inside the cluster
/// would: the server's config (as the ConfigMap writes it) loads, has TLS
/// on the gRPC port and a plaintext health port the probes use; a
/// NetworkPolicy admits gRPC only from client namespaces and lets out only
/// the database and DNS; the batch Jobs get no network; no pod mounts a
/// service-account token; every Job has a deadline; and no single legal
/// request can make the server hold more than its pod's memory limit.
#[test]
fn the_deployment_is_locked_down_and_its_limits_add_up() {
    let docs = manifests("server.yaml");
    let cm = kind(&docs, "ConfigMap", "smefin-config");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, cm["data"]["config.toml"].as_str().unwrap()).unwrap();
    let url = "postgres://smefin:x@postgres:5432/smefin?sslmode=verify-full";
    let cfg = smefin::config::Config::load(
        Some(&file),
        [("SMEFIN__STORE__URL".to_string(), url.to_string())],
    )
    .unwrap();
    assert!(
        cfg.tls.cert.is_some() && cfg.tls.key.is_some(),
        "TLS on the gRPC port"
    );
    let health = cfg.server.health_listen.expect("a health port");
    let dep = kind(&docs, "Deployment", "smefin");
    let pod = at(dep, "spec.template.spec");
    assert_eq!(
        at(pod, "automountServiceAccountToken").as_bool(),
        Some(false)
    );
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let port = at(pod, &format!("containers.0.{probe}.grpc.port")).as_u64();
        assert_eq!(port, Some(u64::from(health.port())), "{probe}");
    }
    // the memory arithmetic, stated in the manifest's comment
    let limit = text(pod, "containers.0.resources.limits.memory");
    let limit_mib: u64 = limit.trim_end_matches("Mi").parse().unwrap();
    let r = &cfg.riskpool;
    let held_mib = (r.max_concurrent as u64 * r.max_run_bytes
        + cfg.server.max_snapshot_bytes_total
        + 16 * (1 << 20)
        + cfg.server.max_message_bytes as u64)
        >> 20;
    assert!(
        held_mib + 100 + 256 <= limit_mib,
        "{held_mib} MiB of requests + the server + buffers over the {limit_mib} MiB limit"
    );
    // the network
    let np = kind(&docs, "NetworkPolicy", "smefin");
    let ingress = at(np, "spec.ingress").as_sequence().unwrap();
    let labels = at(&ingress[0], "from.0.namespaceSelector.matchLabels");
    assert_eq!(labels["smefin.io/client"].as_str(), Some("true"));
    let egress = at(np, "spec.egress").as_sequence().unwrap();
    let ports: Vec<u64> = egress
        .iter()
        .flat_map(|e| at(e, "ports").as_sequence().unwrap().iter())
        .map(|p| at(p, "port").as_u64().unwrap())
        .collect();
    assert_eq!(ports, [5432, 53, 53], "egress to the database and DNS only");
    let jobs = kind(&docs, "NetworkPolicy", "smefin-jobs");
    assert!(at(jobs, "spec.ingress").is_null() && at(jobs, "spec.egress").is_null());
    for (file, name) in [
        ("simulate-job.yaml", "smefin-simulate"),
        ("stress-job.yaml", "smefin-stress"),
        ("merge-job.yaml", "smefin-merge"),
    ] {
        let docs = manifests(file);
        let job = kind(&docs, "Job", name);
        assert!(
            at(job, "spec.activeDeadlineSeconds").as_u64().is_some(),
            "{name}"
        );
        assert_eq!(
            at(job, "spec.template.spec.automountServiceAccountToken").as_bool(),
            Some(false),
            "{name}"
        );
    }
}

/// Every external image the container build starts from is pinned by its
/// digest (a tag can be moved under a build, a digest cannot); the image
/// each `FROM` names is one of the pinned build arguments or a stage.
#[test]
fn the_container_build_pins_its_base_images_by_digest() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Containerfile"))
            .unwrap();
    let mut args = HashMap::new();
    let mut stages = Vec::new();
    let mut froms = 0;
    for line in text.lines().map(str::trim) {
        if let Some(arg) = line.strip_prefix("ARG ") {
            let (name, value) = arg.split_once('=').expect("an ARG with a default");
            let (_, digest) = value
                .split_once("@sha256:")
                .unwrap_or_else(|| panic!("{name} is not pinned by digest: {value}"));
            assert!(
                digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: {digest} is not a sha256 digest"
            );
            args.insert(format!("${{{name}}}"), value.to_string());
        } else if let Some(from) = line.strip_prefix("FROM ") {
            froms += 1;
            let mut words = from.split_whitespace();
            let image = words.next().unwrap();
            assert!(
                args.contains_key(image) || stages.iter().any(|s| s == image),
                "FROM {image} is neither a pinned argument nor a stage"
            );
            if let (Some("AS"), Some(stage)) = (words.next(), words.next()) {
                stages.push(stage.to_string());
            }
        }
    }
    assert_eq!((args.len(), froms), (2, 2), "the build and runtime images");
}

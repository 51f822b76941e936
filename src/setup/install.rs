//! The install step of the wizard: upload `pigsty.yml` to the admin node's
//! Pigsty home, then run the install playbooks in order (Pigsty v3's
//! `install.yml` sequence: `infra.yml`, `node.yml`, `etcd.yml`, `pgsql.yml`)
//! with pigsty-tui's progress callback. Playbooks that completed in an
//! earlier attempt are skipped (resume); a playbook the Pigsty home does not
//! have is skipped with a note.

use std::time::Duration;

use super::SetupInputs;
use super::checks::target;
use crate::actions::playbook::{CALLBACK_NAME, CALLBACK_PLUGIN};
use crate::actions::provision::{
    CALLBACK_DIR, PlaybookCall, STEP_CALLBACK, cd_home, install_callback_script, playbook_script,
};
use crate::tasks::shell::{RemoteCommand, quote};
use crate::tasks::{Pipeline, Step};

/// The install playbooks, in order.
pub const INSTALL_PLAYBOOKS: [&str; 4] = ["infra.yml", "node.yml", "etcd.yml", "pgsql.yml"];

/// Name of the upload step.
pub const STEP_UPLOAD: &str = "upload pigsty.yml";

/// Step name of a playbook (`run infra.yml`).
pub fn step_name(playbook: &str) -> String {
    format!("run {playbook}")
}

/// The script writing `config` to `<home>/pigsty.yml` (the previous one
/// kept as `pigsty.yml.bak`).
pub fn upload_script(home: &str, config: &str) -> String {
    let b64 = crate::encoding::b64_encode(config.as_bytes());
    let dir = match home.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None => quote(home).into_owned(),
    };
    format!(
        "set -e; mkdir -p {dir}; cd {dir}; \
         if [ -f pigsty.yml ]; then cp -p pigsty.yml pigsty.yml.bak; fi; \
         printf '%s' '{b64}' | base64 -d > pigsty.yml.tmp; mv -f pigsty.yml.tmp pigsty.yml; \
         echo \"wrote $(pwd)/pigsty.yml ($(wc -l < pigsty.yml) lines)\""
    )
}

/// The pipeline installing what `done` does not hold yet.
pub fn pipeline(
    inputs: &SetupInputs,
    config: &str,
    done: &[String],
    playbook_timeout: Duration,
) -> Pipeline {
    let admin = target(inputs, &inputs.admin_ip);
    let home = &inputs.pigsty_home;
    let mut p = Pipeline::new("setup", format!("pigsty on {}", inputs.admin_ip))
        .step(
            Step::command(
                STEP_UPLOAD,
                admin.clone(),
                RemoteCommand::admin(upload_script(home, config))
                    .with_display(format!("write {home}/pigsty.yml ({} lines)", config.lines().count())),
            )
            .timeout(Duration::from_secs(60)),
        )
        .step(
            Step::command(
                STEP_CALLBACK,
                admin.clone(),
                RemoteCommand::admin(install_callback_script()).with_display(format!(
                    "write pigsty-tui's ansible callback to {CALLBACK_DIR}/{CALLBACK_NAME}.py ({} bytes)",
                    CALLBACK_PLUGIN.len()
                )),
            )
            .timeout(Duration::from_secs(60)),
        );
    for pb in INSTALL_PLAYBOOKS {
        if done.iter().any(|d| d == pb) {
            continue;
        }
        let call = PlaybookCall::new(pb);
        let script = format!(
            "{}\nif [ ! -e ./{pb} ]; then echo \"{pb} is not in $(pwd): skipped\"; exit 0; fi\n{}",
            cd_home(home),
            playbook_script(home, &call)
        );
        p.push(
            Step::command(
                step_name(pb),
                admin.clone(),
                RemoteCommand::admin(script).with_display(format!("cd {home} && ./{pb}")),
            )
            .timeout(playbook_timeout),
        );
    }
    p
}

/// Playbooks whose step succeeded in a finished install task.
pub fn completed(state: &crate::tasks::TaskState) -> Vec<String> {
    INSTALL_PLAYBOOKS
        .iter()
        .filter(|pb| {
            state.steps.iter().any(|s| {
                s.name == step_name(pb) && s.status == crate::tasks::runner::StepStatus::Succeeded
            })
        })
        .map(|s| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_skips_completed_playbooks() {
        let i = SetupInputs::sandbox();
        let p = pipeline(
            &i,
            "all: {}\n",
            &["infra.yml".into()],
            Duration::from_secs(60),
        );
        let names: Vec<&str> = p.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                STEP_UPLOAD,
                STEP_CALLBACK,
                "run node.yml",
                "run etcd.yml",
                "run pgsql.yml"
            ]
        );
    }

    #[test]
    fn upload_writes_the_config_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("pigsty home");
        let config = "all:\n  vars: { x: 'it''s' }\n";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(upload_script(home.to_str().unwrap(), config))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(home.join("pigsty.yml")).unwrap(),
            config
        );
        // a second upload keeps the first as .bak
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(upload_script(home.to_str().unwrap(), "all: {}\n"))
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            std::fs::read_to_string(home.join("pigsty.yml.bak")).unwrap(),
            config
        );
    }
}

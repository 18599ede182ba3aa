//! `switchboard campaign ...`: the command-line client of a running daemon, for the common
//! operations (list, create, start, pause, resume, stop, stats, upload a list). It speaks the
//! same HTTP API as any client: `--server` (or `SWITCHBOARD_URL`), `--token` (or
//! `SWITCHBOARD_TOKEN`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::Value;

/// Where the daemon is and how to authenticate.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// The daemon's address.
    #[arg(long, env = "SWITCHBOARD_URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The API token.
    #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON answer instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// `switchboard campaign <command>`.
#[derive(Debug, clap::Subcommand)]
pub enum CampaignCommand {
    /// List campaigns (newest first).
    List {
        /// Only campaigns in these states (comma-separated).
        #[arg(long)]
        status: Option<String>,
    },
    /// Create a draft campaign from a workflow of the daemon's workflow directory.
    Create {
        /// Its name.
        name: String,
        /// The workflow id.
        #[arg(long)]
        workflow: String,
    },
    /// Upload a recipient file (CSV or JSON lines) as a new list of a campaign.
    Upload {
        /// The campaign id.
        id: u64,
        /// The file.
        file: PathBuf,
        /// Region of numbers without a country code.
        #[arg(long)]
        region: Option<String>,
    },
    /// Start sending now.
    Start {
        /// The campaign id.
        id: u64,
    },
    /// Hold all sends.
    Pause {
        /// The campaign id.
        id: u64,
    },
    /// Continue after a pause.
    Resume {
        /// The campaign id.
        id: u64,
    },
    /// Cancel every unsent message.
    Stop {
        /// The campaign id.
        id: u64,
    },
    /// Statistics: recipients by status, messages sent, delivered, failed, replies, cost.
    Stats {
        /// The campaign id.
        id: u64,
    },
}

/// Runs one client command.
pub fn run(server: &ServerArgs, command: &CampaignCommand) -> anyhow::Result<()> {
    block_on(execute(server, command))
}

/// Runs a client command's future on a small runtime of its own (the CLI is synchronous).
pub fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

async fn execute(server: &ServerArgs, command: &CampaignCommand) -> anyhow::Result<()> {
    let client = Client::new(&server.server, server.token.clone());
    let answer = match command {
        CampaignCommand::List { status } => {
            let query: Vec<(&str, &str)> = status.iter().map(|s| ("status", s.as_str())).collect();
            client
                .send(client.get("/v1/campaigns").query(&query))
                .await?
        }
        CampaignCommand::Create { name, workflow } => {
            let body = serde_json::json!({ "name": name, "workflow": workflow });
            client
                .send(client.post("/v1/campaigns").json(&body))
                .await?
        }
        CampaignCommand::Upload { id, file, region } => {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("list.csv");
            let mut query = vec![("filename", name)];
            query.extend(region.iter().map(|r| ("region", r.as_str())));
            let request = client.post(&format!("/v1/campaigns/{id}/lists"));
            client.send(request.query(&query).body(bytes)).await?
        }
        CampaignCommand::Start { id } => client.action(*id, "start").await?,
        CampaignCommand::Pause { id } => client.action(*id, "pause").await?,
        CampaignCommand::Resume { id } => client.action(*id, "resume").await?,
        CampaignCommand::Stop { id } => client.action(*id, "stop").await?,
        CampaignCommand::Stats { id } => {
            client
                .send(client.get(&format!("/v1/campaigns/{id}/stats")))
                .await?
        }
    };
    if server.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print_summary(command, &answer);
    }
    Ok(())
}

fn print_summary(command: &CampaignCommand, answer: &Value) {
    let campaign_line = |c: &Value| {
        format!(
            "{:>6}  {:<10} {:<32} {:<28} {:>7} recipients",
            c["id"],
            c["state"].as_str().unwrap_or_default(),
            c["name"].as_str().unwrap_or_default(),
            format!(
                "{} v{}",
                c["workflow"]["id"].as_str().unwrap_or_default(),
                c["workflow"]["version"]
            ),
            c["recipients"]
        )
    };
    match command {
        CampaignCommand::List { .. } => {
            for campaign in answer["campaigns"].as_array().into_iter().flatten() {
                println!("{}", campaign_line(campaign));
            }
            println!("({} campaigns)", answer["total"]);
        }
        CampaignCommand::Upload { .. } => {
            let summary = &answer["summary"];
            println!(
                "list {} ({}): {} rows read, {} imported, {} rejected, {} duplicates",
                answer["id"],
                answer["name"].as_str().unwrap_or_default(),
                summary["rows_read"],
                summary["imported"],
                summary["rejected"],
                summary["duplicates"]
            );
        }
        CampaignCommand::Stats { .. } => {
            println!(
                "recipients {}  sent {}  delivered {}  failed {}  replied {} ({:.1} %)  opted out {}  segments {}  est. cost {}",
                answer["total"],
                answer["sent"],
                answer["delivered"],
                answer["failed"],
                answer["responded"],
                answer["response_rate"].as_f64().unwrap_or(0.0) * 100.0,
                answer["opted_out"],
                answer["segments"],
                answer["estimated_cost"]
            );
            if let Some(statuses) = answer["recipients"].as_object() {
                let parts: Vec<String> = statuses.iter().map(|(s, n)| format!("{s} {n}")).collect();
                println!("by status: {}", parts.join(", "));
            }
        }
        _ => println!("{}", campaign_line(answer)),
    }
}

/// An API client: requests carry the token, answers come back as JSON, and an error answer
/// becomes an error with the API's message (the demo drives the daemon with it too).
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client of the daemon at `base` (`http://host:port`).
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// A GET of `path`.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.authorised(self.http.get(format!("{}{path}", self.base)))
    }

    /// A POST to `path`.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.authorised(self.http.post(format!("{}{path}", self.base)))
    }

    /// A DELETE of `path`.
    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.authorised(self.http.delete(format!("{}{path}", self.base)))
    }

    /// Sends a request; the answer's text (a CSV export), or an error with the API's message.
    pub async fn send_text(&self, request: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the daemon at {}", self.base))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|body| body["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            bail!("{status}: {message}");
        }
        Ok(text)
    }

    /// `POST /v1/campaigns/{id}/{action}`.
    pub async fn action(&self, id: u64, action: &str) -> anyhow::Result<Value> {
        self.send(self.post(&format!("/v1/campaigns/{id}/{action}")))
            .await
    }

    /// Sends a request made by [`Client::get`] or [`Client::post`]; the answer's JSON.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let text = self.send_text(request).await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

//! Content rules. Sources: each provider's documentation of its token format (prefixes,
//! alphabets, lengths and checksums); no other scanner's rule text.

use super::{b64, rnd, tok, P, P::C, P::L};
use crate::rule::{Allowlist, RegexTarget, Rule, Severity, Validation};
use crate::validate::{
    base58check_encode, base64url_encode, bech32_encode, with_atlassian_crc32, with_crc32_base62,
    with_github_fine_grained, with_gitlab_crc32, with_grafana_crc32,
};

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B64: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";

/// Provider tokens described by shape alone.
fn shaped() -> Vec<Rule> {
    let t: &[(&str, &str, &[P], &[&str])] = &[
        // GitLab (docs.gitlab.com, "Token prefixes")
        (
            "gitlab-pat",
            "GitLab personal/project/group access token (legacy 20-character)",
            &[L("glpat-"), C('W', 20, 20)],
            &["gitlab"],
        ),
        (
            "gitlab-deploy-token",
            "GitLab deploy token",
            &[L("gldt-"), C('W', 20, 64)],
            &["gitlab"],
        ),
        (
            "gitlab-runner-token",
            "GitLab runner authentication token",
            &[L("glrt-"), C('W', 20, 120)],
            &["gitlab"],
        ),
        (
            "gitlab-runner-registration-token",
            "GitLab runner registration token",
            &[L("GR1348941"), C('W', 20, 20)],
            &["gitlab"],
        ),
        (
            "gitlab-pipeline-trigger-token",
            "GitLab pipeline trigger token",
            &[L("glptt-"), C('H', 40, 40)],
            &["gitlab"],
        ),
        (
            "gitlab-feed-token",
            "GitLab feed token",
            &[L("glft-"), C('W', 20, 64)],
            &["gitlab"],
        ),
        (
            "gitlab-oauth-app-secret",
            "GitLab OAuth application secret",
            &[L("gloas-"), C('H', 64, 64)],
            &["gitlab"],
        ),
        (
            "gitlab-scim-token",
            "GitLab SCIM token",
            &[L("glsoat-"), C('W', 20, 64)],
            &["gitlab"],
        ),
        (
            "gitlab-incoming-mail-token",
            "GitLab incoming mail token",
            &[L("glimt-"), C('W', 25, 64)],
            &["gitlab"],
        ),
        (
            "gitlab-ci-job-token",
            "GitLab CI/CD job token",
            &[L("glcbt-"), C('W', 20, 120)],
            &["gitlab"],
        ),
        (
            "gitlab-agent-token",
            "GitLab agent for Kubernetes token",
            &[L("glagent-"), C('W', 50, 120)],
            &["gitlab"],
        ),
        (
            "gitlab-feature-flags-token",
            "GitLab feature flags client token",
            &[L("glffct-"), C('W', 20, 64)],
            &["gitlab"],
        ),
        // AI providers
        (
            "openai-api-key",
            "OpenAI API key (project, service account or admin)",
            &[
                L("sk-"),
                C('a', 4, 7),
                L("-"),
                C('W', 20, 160),
                L("T3BlbkFJ"),
                C('W', 20, 160),
            ],
            &["openai", "ai"],
        ),
        (
            "openai-user-key",
            "OpenAI API key (legacy user key)",
            &[L("sk-"), C('A', 20, 20), L("T3BlbkFJ"), C('A', 20, 20)],
            &["openai", "ai"],
        ),
        (
            "anthropic-api-key",
            "Anthropic API key",
            &[L("sk-ant-api03-"), C('W', 93, 93), L("AA")],
            &["anthropic", "ai"],
        ),
        (
            "anthropic-admin-key",
            "Anthropic admin API key",
            &[L("sk-ant-admin01-"), C('W', 93, 93), L("AA")],
            &["anthropic", "ai"],
        ),
        (
            "huggingface-token",
            "Hugging Face access token",
            &[L("hf_"), C('a', 34, 34)],
            &["huggingface", "ai"],
        ),
        (
            "huggingface-org-token",
            "Hugging Face organization API token",
            &[L("api_org_"), C('a', 34, 34)],
            &["huggingface", "ai"],
        ),
        (
            "replicate-api-token",
            "Replicate API token",
            &[L("r8_"), C('A', 37, 37)],
            &["replicate", "ai"],
        ),
        (
            "groq-api-key",
            "Groq API key",
            &[L("gsk_"), C('A', 52, 52)],
            &["groq", "ai"],
        ),
        (
            "perplexity-api-key",
            "Perplexity API key",
            &[L("pplx-"), C('A', 48, 48)],
            &["perplexity", "ai"],
        ),
        (
            "xai-api-key",
            "xAI API key",
            &[L("xai-"), C('A', 80, 80)],
            &["xai", "ai"],
        ),
        (
            "langsmith-api-key",
            "LangSmith API key",
            &[L("lsv2_pt_"), C('H', 32, 32), L("_"), C('H', 10, 10)],
            &["langchain", "ai"],
        ),
        (
            "langsmith-service-key",
            "LangSmith service key",
            &[L("lsv2_sk_"), C('H', 32, 32), L("_"), C('H', 10, 10)],
            &["langchain", "ai"],
        ),
        (
            "openrouter-api-key",
            "OpenRouter API key",
            &[L("sk-or-v1-"), C('H', 64, 64)],
            &["openrouter", "ai"],
        ),
        (
            "nvidia-api-key",
            "NVIDIA NGC / API catalog key",
            &[L("nvapi-"), C('W', 64, 64)],
            &["nvidia", "ai"],
        ),
        // Cloud
        (
            "gcp-api-key",
            "Google API key",
            &[L("AIza"), C('W', 35, 35)],
            &["gcp", "google"],
        ),
        (
            "google-oauth-client-secret",
            "Google OAuth client secret",
            &[L("GOCSPX-"), C('W', 28, 28)],
            &["gcp", "google"],
        ),
        (
            "google-oauth-access-token",
            "Google OAuth access token",
            &[L("ya29."), C('W', 60, 250)],
            &["gcp", "google"],
        ),
        (
            "aws-mws-auth-token",
            "Amazon MWS auth token",
            &[
                L("amzn.mws."),
                C('H', 8, 8),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 12, 12),
            ],
            &["aws"],
        ),
        (
            "alibaba-access-key-id",
            "Alibaba Cloud AccessKey ID",
            &[L("LTAI"), C('A', 20, 20)],
            &["alibaba"],
        ),
        (
            "tencent-secret-id",
            "Tencent Cloud SecretId",
            &[L("AKID"), C('A', 32, 32)],
            &["tencent"],
        ),
        (
            "yandex-api-key",
            "Yandex Cloud API key",
            &[L("AQVN"), C('W', 35, 38)],
            &["yandex"],
        ),
        (
            "yandex-iam-token",
            "Yandex Cloud IAM token",
            &[L("t1.9euelZ"), C('W', 80, 200)],
            &["yandex"],
        ),
        (
            "digitalocean-pat",
            "DigitalOcean personal access token",
            &[L("dop_v1_"), C('H', 64, 64)],
            &["digitalocean"],
        ),
        (
            "digitalocean-oauth-token",
            "DigitalOcean OAuth token",
            &[L("doo_v1_"), C('H', 64, 64)],
            &["digitalocean"],
        ),
        (
            "digitalocean-refresh-token",
            "DigitalOcean refresh token",
            &[L("dor_v1_"), C('H', 64, 64)],
            &["digitalocean"],
        ),
        (
            "databricks-token",
            "Databricks personal access token",
            &[L("dapi"), C('H', 32, 32)],
            &["databricks"],
        ),
        (
            "vault-service-token",
            "HashiCorp Vault service token",
            &[L("hvs."), C('W', 90, 120)],
            &["hashicorp", "vault"],
        ),
        (
            "vault-batch-token",
            "HashiCorp Vault batch token",
            &[L("hvb."), C('W', 138, 300)],
            &["hashicorp", "vault"],
        ),
        (
            "terraform-cloud-token",
            "Terraform Cloud / HCP API token",
            &[C('A', 14, 14), L(".atlasv1."), C('W', 60, 70)],
            &["hashicorp", "terraform"],
        ),
        (
            "azure-devops-pat",
            "Azure DevOps personal access token (2024 format)",
            &[C('A', 52, 52), L("AZDO"), C('A', 4, 4)],
            &["azure"],
        ),
        (
            "flyio-token",
            "Fly.io access token",
            &[L("fo1_"), C('W', 43, 43)],
            &["flyio"],
        ),
        (
            "netlify-pat",
            "Netlify personal access token",
            &[L("nfp_"), C('A', 36, 36)],
            &["netlify"],
        ),
        (
            "cloudflare-origin-ca-key",
            "Cloudflare Origin CA key",
            &[L("v1.0-"), C('H', 24, 24), L("-"), C('H', 146, 146)],
            &["cloudflare"],
        ),
        (
            "openshift-token",
            "OpenShift user token",
            &[L("sha256~"), C('W', 43, 43)],
            &["openshift", "kubernetes"],
        ),
        (
            "scalingo-api-token",
            "Scalingo API token",
            &[L("tk-us-"), C('W', 48, 48)],
            &["scalingo"],
        ),
        (
            "pulumi-access-token",
            "Pulumi access token",
            &[L("pul-"), C('H', 40, 40)],
            &["pulumi"],
        ),
        (
            "prefect-api-key",
            "Prefect API key",
            &[L("pnu_"), C('A', 36, 36)],
            &["prefect"],
        ),
        (
            "supabase-access-token",
            "Supabase personal access token",
            &[L("sbp_"), C('H', 40, 40)],
            &["supabase"],
        ),
        (
            "planetscale-password",
            "PlanetScale database password",
            &[L("pscale_pw_"), C('W', 43, 43)],
            &["planetscale"],
        ),
        (
            "planetscale-api-token",
            "PlanetScale service token",
            &[L("pscale_tkn_"), C('W', 43, 43)],
            &["planetscale"],
        ),
        (
            "planetscale-oauth-token",
            "PlanetScale OAuth token",
            &[L("pscale_oauth_"), C('W', 43, 43)],
            &["planetscale"],
        ),
        (
            "dynatrace-api-token",
            "Dynatrace API token",
            &[L("dt0c01."), C('U', 24, 24), L("."), C('U', 64, 64)],
            &["dynatrace"],
        ),
        (
            "newrelic-user-api-key",
            "New Relic user API key",
            &[L("NRAK-"), C('U', 27, 27)],
            &["newrelic"],
        ),
        (
            "newrelic-insert-key",
            "New Relic insights insert key",
            &[L("NRII-"), C('W', 32, 32)],
            &["newrelic"],
        ),
        (
            "newrelic-browser-key",
            "New Relic browser API token",
            &[L("NRJS-"), C('H', 19, 19)],
            &["newrelic"],
        ),
        (
            "newrelic-license-key",
            "New Relic license key",
            &[C('H', 36, 36), L("NRAL")],
            &["newrelic"],
        ),
        (
            "sentry-user-token",
            "Sentry user auth token",
            &[L("sntryu_"), C('H', 64, 64)],
            &["sentry"],
        ),
        (
            "grafana-cloud-token",
            "Grafana Cloud access policy token",
            &[L("glc_eyJ"), C('B', 60, 400)],
            &["grafana"],
        ),
        (
            "grafana-api-key",
            "Grafana API key (legacy)",
            &[L("eyJrIjoi"), C('A', 60, 200)],
            &["grafana"],
        ),
        // Messaging and collaboration
        (
            "slack-bot-token",
            "Slack bot token",
            &[
                L("xoxb-"),
                C('D', 10, 13),
                L("-"),
                C('D', 10, 13),
                L("-"),
                C('A', 24, 24),
            ],
            &["slack"],
        ),
        (
            "slack-user-token",
            "Slack user token",
            &[
                L("xoxp-"),
                C('D', 10, 13),
                L("-"),
                C('D', 10, 13),
                L("-"),
                C('D', 10, 13),
                L("-"),
                C('H', 32, 32),
            ],
            &["slack"],
        ),
        (
            "slack-app-token",
            "Slack app-level token",
            &[
                L("xapp-1-"),
                C('U', 9, 11),
                L("-"),
                C('D', 13, 13),
                L("-"),
                C('H', 64, 64),
            ],
            &["slack"],
        ),
        (
            "slack-config-token",
            "Slack configuration access token",
            &[L("xoxe.xox"), C('a', 1, 1), L("-1-"), C('A', 150, 170)],
            &["slack"],
        ),
        (
            "slack-refresh-token",
            "Slack configuration refresh token",
            &[L("xoxe-1-"), C('A', 140, 150)],
            &["slack"],
        ),
        (
            "discord-webhook",
            "Discord webhook URL",
            &[
                L("https://discord.com/api/webhooks/"),
                C('D', 17, 20),
                L("/"),
                C('W', 60, 68),
            ],
            &["discord", "webhook"],
        ),
        (
            "discord-webhook-discordapp",
            "Discord webhook URL (discordapp.com)",
            &[
                L("https://discordapp.com/api/webhooks/"),
                C('D', 17, 20),
                L("/"),
                C('W', 60, 68),
            ],
            &["discord", "webhook"],
        ),
        (
            "telegram-bot-token",
            "Telegram bot token",
            &[C('D', 8, 10), L(":AA"), C('W', 33, 33)],
            &["telegram"],
        ),
        (
            "linear-api-key",
            "Linear API key",
            &[L("lin_api_"), C('A', 40, 40)],
            &["linear"],
        ),
        (
            "linear-oauth-token",
            "Linear OAuth token",
            &[L("lin_oauth_"), C('H', 64, 64)],
            &["linear"],
        ),
        (
            "notion-integration-token",
            "Notion integration secret",
            &[L("ntn_"), C('D', 11, 11), C('A', 35, 35)],
            &["notion"],
        ),
        (
            "notion-legacy-secret",
            "Notion integration secret (legacy)",
            &[L("secret_"), C('A', 43, 43)],
            &["notion"],
        ),
        (
            "figma-pat",
            "Figma personal access token",
            &[L("figd_"), C('W', 40, 40)],
            &["figma"],
        ),
        (
            "frameio-token",
            "Frame.io developer token",
            &[L("fio-u-"), C('W', 64, 64)],
            &["frameio"],
        ),
        (
            "airtable-pat",
            "Airtable personal access token",
            &[L("pat"), C('A', 14, 14), L("."), C('H', 64, 64)],
            &["airtable"],
        ),
        (
            "typeform-pat",
            "Typeform personal access token",
            &[L("tfp_"), C('W', 44, 59)],
            &["typeform"],
        ),
        (
            "readme-api-key",
            "ReadMe API key",
            &[L("rdme_"), C('L', 70, 70)],
            &["readme"],
        ),
        (
            "hubspot-private-app-token",
            "HubSpot private app token",
            &[
                L("pat-na1-"),
                C('H', 8, 8),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 12, 12),
            ],
            &["hubspot"],
        ),
        (
            "hubspot-private-app-token-eu",
            "HubSpot private app token (EU)",
            &[
                L("pat-eu1-"),
                C('H', 8, 8),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 4, 4),
                L("-"),
                C('H', 12, 12),
            ],
            &["hubspot"],
        ),
        (
            "contentful-pat",
            "Contentful personal access token",
            &[L("CFPAT-"), C('W', 43, 43)],
            &["contentful"],
        ),
        (
            "onepassword-service-account-token",
            "1Password service account token",
            &[L("ops_eyJ"), C('B', 100, 400)],
            &["1password"],
        ),
        (
            "onepassword-secret-key",
            "1Password account secret key",
            &[
                L("A3-"),
                C('U', 6, 6),
                L("-"),
                C('U', 11, 11),
                L("-"),
                C('U', 5, 5),
                L("-"),
                C('U', 5, 5),
                L("-"),
                C('U', 5, 5),
            ],
            &["1password"],
        ),
        // Email
        (
            "sendgrid-api-key",
            "SendGrid API key",
            &[L("SG."), C('W', 22, 22), L("."), C('W', 43, 43)],
            &["sendgrid", "email"],
        ),
        (
            "mailgun-api-key",
            "Mailgun private API key",
            &[L("key-"), C('H', 32, 32)],
            &["mailgun", "email"],
        ),
        (
            "mailchimp-api-key",
            "Mailchimp API key",
            &[C('H', 32, 32), L("-us"), C('D', 1, 2)],
            &["mailchimp", "email"],
        ),
        (
            "brevo-api-key",
            "Brevo (Sendinblue) API key",
            &[L("xkeysib-"), C('H', 64, 64), L("-"), C('A', 16, 16)],
            &["brevo", "email"],
        ),
        (
            "brevo-smtp-key",
            "Brevo (Sendinblue) SMTP key",
            &[L("xsmtpsib-"), C('H', 64, 64), L("-"), C('A', 16, 16)],
            &["brevo", "email"],
        ),
        (
            "mailersend-api-token",
            "MailerSend API token",
            &[L("mlsn."), C('H', 64, 64)],
            &["mailersend", "email"],
        ),
        (
            "resend-api-key",
            "Resend API key",
            &[L("re_"), C('A', 8, 8), L("_"), C('A', 24, 24)],
            &["resend", "email"],
        ),
        // Payments and commerce
        (
            "stripe-secret-key",
            "Stripe live secret key",
            &[L("sk_live_"), C('A', 24, 99)],
            &["stripe", "payments"],
        ),
        (
            "stripe-restricted-key",
            "Stripe live restricted key",
            &[L("rk_live_"), C('A', 24, 99)],
            &["stripe", "payments"],
        ),
        (
            "stripe-test-secret-key",
            "Stripe test-mode secret key",
            &[L("sk_test_"), C('A', 24, 99)],
            &["stripe", "payments", "test-mode"],
        ),
        (
            "stripe-webhook-secret",
            "Stripe webhook signing secret",
            &[L("whsec_"), C('A', 32, 64)],
            &["stripe", "webhook"],
        ),
        (
            "shopify-access-token",
            "Shopify Admin API access token",
            &[L("shpat_"), C('h', 32, 32)],
            &["shopify"],
        ),
        (
            "shopify-custom-app-token",
            "Shopify custom app access token",
            &[L("shpca_"), C('h', 32, 32)],
            &["shopify"],
        ),
        (
            "shopify-private-app-token",
            "Shopify private app access token",
            &[L("shppa_"), C('h', 32, 32)],
            &["shopify"],
        ),
        (
            "shopify-shared-secret",
            "Shopify app shared secret",
            &[L("shpss_"), C('h', 32, 32)],
            &["shopify"],
        ),
        (
            "square-access-token",
            "Square access token",
            &[L("EAAA"), C('W', 60, 60)],
            &["square", "payments"],
        ),
        (
            "square-oauth-secret",
            "Square OAuth application secret",
            &[L("sq0csp-"), C('W', 43, 43)],
            &["square", "payments"],
        ),
        (
            "square-legacy-token",
            "Square access token (legacy)",
            &[L("sq0atp-"), C('W', 22, 22)],
            &["square", "payments"],
        ),
        (
            "flutterwave-secret-key",
            "Flutterwave secret key",
            &[L("FLWSECK-"), C('H', 32, 32), L("-X")],
            &["flutterwave", "payments"],
        ),
        (
            "flutterwave-test-secret-key",
            "Flutterwave test secret key",
            &[L("FLWSECK_TEST-"), C('H', 32, 32), L("-X")],
            &["flutterwave", "payments"],
        ),
        (
            "braintree-access-token",
            "Braintree / PayPal access token",
            &[
                L("access_token$production$"),
                C('L', 16, 16),
                L("$"),
                C('H', 32, 32),
            ],
            &["paypal", "payments"],
        ),
        (
            "shippo-live-token",
            "Shippo live API token",
            &[L("shippo_live_"), C('H', 40, 40)],
            &["shippo"],
        ),
        (
            "easypost-api-key",
            "EasyPost production API key",
            &[L("EZAK"), C('A', 54, 54)],
            &["easypost"],
        ),
        (
            "duffel-live-token",
            "Duffel live access token",
            &[L("duffel_live_"), C('W', 43, 43)],
            &["duffel"],
        ),
        (
            "duffel-test-token",
            "Duffel test access token",
            &[L("duffel_test_"), C('W', 43, 43)],
            &["duffel", "test-mode"],
        ),
        // Developer tooling and registries
        (
            "dockerhub-pat",
            "Docker Hub personal access token",
            &[L("dckr_pat_"), C('W', 27, 27)],
            &["docker"],
        ),
        (
            "dockerhub-oat",
            "Docker Hub organization access token",
            &[L("dckr_oat_"), C('W', 32, 32)],
            &["docker"],
        ),
        (
            "heroku-api-key",
            "Heroku platform API key (HRKU)",
            &[L("HRKU-AA"), C('W', 58, 58)],
            &["heroku"],
        ),
        (
            "postman-api-key",
            "Postman API key",
            &[L("PMAK-"), C('H', 24, 24), L("-"), C('H', 34, 34)],
            &["postman"],
        ),
        (
            "rubygems-api-key",
            "RubyGems API key",
            &[L("rubygems_"), C('H', 48, 48)],
            &["rubygems"],
        ),
        (
            "nuget-api-key",
            "NuGet API key",
            &[L("oy2"), C('L', 43, 43)],
            &["nuget"],
        ),
        (
            "cratesio-api-token",
            "crates.io API token",
            &[L("cio"), C('A', 32, 32)],
            &["rust"],
        ),
        (
            "clojars-token",
            "Clojars deploy token",
            &[L("CLOJARS_"), C('L', 60, 60)],
            &["clojars"],
        ),
        (
            "jfrog-api-key",
            "JFrog Artifactory API key",
            &[L("AKCp"), C('A', 69, 69)],
            &["jfrog"],
        ),
        (
            "jfrog-identity-token",
            "JFrog identity (reference) token",
            &[L("cmVmdGtuOjAxOj"), C('A', 50, 64)],
            &["jfrog"],
        ),
        (
            "sonarqube-user-token",
            "SonarQube user token",
            &[L("squ_"), C('H', 40, 40)],
            &["sonarqube"],
        ),
        (
            "sonarqube-project-token",
            "SonarQube project analysis token",
            &[L("sqp_"), C('H', 40, 40)],
            &["sonarqube"],
        ),
        (
            "sonarqube-global-token",
            "SonarQube global analysis token",
            &[L("sqa_"), C('H', 40, 40)],
            &["sonarqube"],
        ),
        (
            "circleci-pat",
            "CircleCI personal API token",
            &[L("CCIPAT_"), C('A', 22, 22), L("_"), C('H', 40, 40)],
            &["circleci"],
        ),
        (
            "buildkite-api-token",
            "Buildkite user access token",
            &[L("bkua_"), C('H', 40, 40)],
            &["buildkite"],
        ),
        (
            "sourcegraph-access-token",
            "Sourcegraph access token",
            &[L("sgp_"), C('H', 16, 16), L("_"), C('H', 40, 40)],
            &["sourcegraph"],
        ),
        (
            "harness-pat",
            "Harness personal access token",
            &[
                L("pat."),
                C('W', 22, 22),
                L("."),
                C('H', 24, 24),
                L("."),
                C('A', 20, 20),
            ],
            &["harness"],
        ),
        (
            "infracost-api-key",
            "Infracost API key",
            &[L("ico-"), C('A', 32, 32)],
            &["infracost"],
        ),
        (
            "octopus-deploy-api-key",
            "Octopus Deploy API key",
            &[L("API-"), C('U', 26, 26)],
            &["octopus"],
        ),
        (
            "adafruit-io-key",
            "Adafruit IO key",
            &[L("aio_"), C('A', 28, 28)],
            &["adafruit"],
        ),
        (
            "doppler-personal-token",
            "Doppler personal token",
            &[L("dp.pt."), C('A', 43, 43)],
            &["doppler"],
        ),
        (
            "doppler-service-token",
            "Doppler service token",
            &[L("dp.st."), C('A', 43, 43)],
            &["doppler"],
        ),
        (
            "doppler-service-account-token",
            "Doppler service account token",
            &[L("dp.sa."), C('A', 43, 43)],
            &["doppler"],
        ),
        (
            "doppler-cli-token",
            "Doppler CLI token",
            &[L("dp.ct."), C('A', 43, 43)],
            &["doppler"],
        ),
        (
            "doppler-scim-token",
            "Doppler SCIM token",
            &[L("dp.scim."), C('A', 43, 43)],
            &["doppler"],
        ),
        (
            "doppler-audit-token",
            "Doppler audit token",
            &[L("dp.audit."), C('A', 43, 43)],
            &["doppler"],
        ),
        (
            "tailscale-auth-key",
            "Tailscale auth key",
            &[L("tskey-auth-"), C('A', 10, 20), L("-"), C('A', 30, 40)],
            &["tailscale"],
        ),
        (
            "tailscale-api-key",
            "Tailscale API access token",
            &[L("tskey-api-"), C('A', 10, 20), L("-"), C('A', 30, 40)],
            &["tailscale"],
        ),
        (
            "tailscale-oauth-secret",
            "Tailscale OAuth client secret",
            &[L("tskey-client-"), C('A', 10, 20), L("-"), C('A', 30, 40)],
            &["tailscale"],
        ),
        (
            "twitter-bearer-token",
            "Twitter/X API bearer token",
            &[L("AAAAAAAAAAAAAAAAAAAAA"), C('A', 60, 120)],
            &["twitter"],
        ),
        (
            "mapbox-secret-token",
            "Mapbox secret access token",
            &[L("sk.eyJ"), C('W', 50, 300), L("."), C('W', 22, 22)],
            &["mapbox"],
        ),
        (
            "bitbucket-http-access-token",
            "Bitbucket Data Center HTTP access token",
            &[L("BBDC-"), C('B', 44, 44)],
            &["atlassian", "bitbucket"],
        ),
        (
            "twilio-api-key",
            "Twilio API key SID",
            &[L("SK"), C('H', 32, 32)],
            &["twilio"],
        ),
        (
            "segment-public-api-token",
            "Twilio Segment public API token",
            &[L("sgp_"), C('A', 64, 64)],
            &["segment"],
        ),
    ];
    t.iter()
        .map(|(id, desc, parts, tags)| {
            let r = tok(id, desc, parts, tags);
            // identifiers, documented as such by the vendor: shown, not blocking (the secret
            // that goes with them is what grants access)
            match *id {
                "twilio-api-key" => r.severity(Severity::Warn),
                _ => r,
            }
        })
        .collect()
}

fn checksummed() -> Vec<Rule> {
    let mut v = Vec::new();
    for (id, desc, prefix, body) in [
        (
            "github-pat",
            "GitHub personal access token (classic)",
            "ghp_",
            30,
        ),
        (
            "github-oauth-token",
            "GitHub OAuth access token",
            "gho_",
            30,
        ),
        (
            "github-user-to-server-token",
            "GitHub App user-to-server token",
            "ghu_",
            30,
        ),
        (
            "github-server-to-server-token",
            "GitHub App installation token",
            "ghs_",
            30,
        ),
        (
            "github-refresh-token",
            "GitHub App refresh token",
            "ghr_",
            70,
        ),
        ("npm-access-token", "npm access token", "npm_", 30),
    ] {
        let good = with_crc32_base62(prefix, &rnd(id, ALNUM, body));
        let mut bad = good.clone();
        bad.replace_range(bad.len() - 6.., "ZZZZZZ");
        v.push(
            Rule::new(id, desc)
                .regex(format!(r"\b({prefix}[0-9A-Za-z]{{{}}})\b", body + 6))
                .group(1)
                .keywords(&[prefix])
                .validate(Validation::Crc32Base62)
                .tags(&[if prefix == "npm_" { "npm" } else { "github" }, "checksum"])
                .examples(&[format!("export TOKEN={good}"), format!("auth: \"{good}\"")])
                .negatives(&[
                    format!("export TOKEN={bad}"),
                    format!("{prefix}{}", "0".repeat(body + 6)),
                ]),
        );
    }
    let stateless = format!(
        "ghs_1234567_{}.{}.{}",
        base64url_encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        base64url_encode(br#"{"iat":1745568000,"exp":1745568360,"iss":"12345"}"#),
        rnd("ghs-jwt", ALNUM, 43)
    );
    v.push(
        Rule::new("github-app-installation-token-jwt", "GitHub App installation token (stateless JWT format)")
            .regex(r"\b(ghs_[0-9]{1,20}_eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{20,})")
            .group(1)
            .keywords(&["ghs_"])
            .entropy(3.5)
            .tags(&["github"])
            .examples(&[format!("token: {stateless}")])
            .negatives(&["token: ghs_123_eyJhbGciOi.eyJpYXQiOj.short"]),
    );
    let fine_head = format!(
        "github_pat_11{}_{}",
        rnd("gh-fine-a", ALNUM, 20),
        rnd("gh-fine-b", ALNUM, 43)
    );
    let fine = with_github_fine_grained(&fine_head, &rnd("gh-fine-c", ALNUM, 8));
    let fine_bad = format!("{fine_head}AAAAAAAA{}", rnd("gh-fine-c", ALNUM, 8));
    v.push(
        Rule::new(
            "github-fine-grained-pat",
            "GitHub fine-grained personal access token",
        )
        .regex(r"\b(github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59})\b")
        .group(1)
        .keywords(&["github_pat_"])
        .entropy(3.0)
        .validate(Validation::GithubFineGrained)
        .tags(&["github", "checksum"])
        // the checksum is undocumented: a token that fails it is still a finding
        .examples(&[
            format!("GITHUB_TOKEN={fine}"),
            format!("GITHUB_TOKEN={fine_bad}"),
        ])
        .negatives(&["github_pat_11ABCDEFG_short".to_string()]),
    );
    let gl_head = format!(
        "glpat-{}.01.{}",
        rnd(
            "gitlab-routable",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
            38
        ),
        "12"
    );
    let gl_routable = with_gitlab_crc32(&gl_head);
    v.push(
        Rule::new(
            "gitlab-pat-routable",
            "GitLab personal/project/group access token (routable, checksummed)",
        )
        .regex(r"\b(glpat-[0-9A-Za-z_\-]{27,}\.[0-9a-z]{2}\.[0-9a-z]{9})\b")
        .group(1)
        .keywords(&["glpat-"])
        .entropy(3.0)
        .validate(Validation::GitlabCrc32)
        .tags(&["gitlab", "checksum"])
        .examples(&[
            format!("GITLAB_TOKEN={gl_routable}"),
            format!("GITLAB_TOKEN={gl_head}0000000"),
        ])
        .negatives(&[format!(
            "GITLAB_TOKEN=glpat-{}.01.120000000",
            "x".repeat(38)
        )]),
    );
    v.push(
        Rule::new(
            "gitlab-pat-routable-unversioned",
            "GitLab access token (routable, early unversioned format)",
        )
        .regex(r"\b(glpat-[0-9A-Za-z_\-]{27,}\.[0-9a-z]{9})\b")
        .group(1)
        .keywords(&["glpat-"])
        .entropy(3.5)
        .tags(&["gitlab"])
        .examples(&[format!(
            "GITLAB_TOKEN=glpat-{}.0r03gxo7s",
            rnd("gitlab-unversioned", ALNUM, 27)
        )])
        .negatives(&[format!("GITLAB_TOKEN=glpat-{}.0r03gxo7s", "a".repeat(27))]),
    );
    let atl_body = format!(
        "ATATT3xFfGF0{}=",
        rnd(
            "atlassian",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-",
            171
        )
    );
    let atl = with_atlassian_crc32(&atl_body);
    v.push(
        Rule::new(
            "atlassian-api-token",
            "Atlassian Cloud API token (Jira, Confluence, Bitbucket)",
        )
        .regex(r"\b(ATATT3[A-Za-z0-9_\-]{150,}=[0-9A-F]{8})\b")
        .group(1)
        .keywords(&["atatt3"])
        .entropy(3.0)
        .validate(Validation::AtlassianCrc32)
        .tags(&["atlassian", "checksum"])
        .examples(&[
            format!("JIRA_API_TOKEN={atl}"),
            format!("JIRA_API_TOKEN={atl_body}0BADF00D"),
        ])
        .negatives(&[format!(
            "JIRA_API_TOKEN=ATATT3xFfGF0{}=00000000",
            "x".repeat(171)
        )]),
    );
    let gl = with_grafana_crc32(&format!("glsa_{}", rnd("grafana-sa", ALNUM, 32)));
    let gl_bad = format!("{}00000000", &gl[..38]);
    v.push(
        Rule::new(
            "grafana-service-account-token",
            "Grafana service account token",
        )
        .regex(r"\b(glsa_[A-Za-z0-9]{32}_[0-9a-f]{8})\b")
        .group(1)
        .keywords(&["glsa_"])
        .entropy(3.0)
        .validate(Validation::GrafanaCrc32)
        .tags(&["grafana", "checksum"])
        .examples(&[
            format!("GRAFANA_TOKEN=\"{gl}\""),
            format!("GRAFANA_TOKEN=\"{gl_bad}\""),
        ])
        .negatives(&[format!(
            "GRAFANA_TOKEN=\"glsa_{}_00000000\"",
            "0".repeat(32)
        )]),
    );
    let key: Vec<u8> = rnd("age", ALNUM, 32).into_bytes();
    let age = bech32_encode("age-secret-key-", &key).to_ascii_uppercase();
    let mut age_bad = age.clone().into_bytes();
    let n = age_bad.len();
    age_bad[n - 1] = if age_bad[n - 1] == b'Q' { b'P' } else { b'Q' };
    v.push(
        Rule::new("age-secret-key", "age encryption secret key")
            .regex(r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b")
            .group(1)
            .keywords(&["age-secret-key-1"])
            .validate(Validation::Bech32)
            .tags(&["age", "checksum", "private-key"])
            .examples(&[format!("# created: 2024-01-01\n{age}\n")])
            .negatives(&[String::from_utf8_lossy(&age_bad).into_owned()]),
    );
    let nsec = bech32_encode("nsec", &rnd("nostr", ALNUM, 32).into_bytes());
    let nsec_bad = format!("{}qqqqqq", &nsec[..nsec.len() - 6]);
    v.push(
        Rule::new("nostr-private-key", "Nostr private key (nsec)")
            .regex(r"\b(nsec1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58})\b")
            .group(1)
            .keywords(&["nsec1"])
            .validate(Validation::Bech32)
            .tags(&["nostr", "checksum", "private-key"])
            .examples(&[format!("NOSTR_KEY={nsec}")])
            .negatives(&[format!("NOSTR_KEY={nsec_bad}")]),
    );
    let mut wif_payload = vec![0x80u8];
    wif_payload.extend(rnd("wif", ALNUM, 32).bytes());
    wif_payload.push(1);
    let wif = base58check_encode(&wif_payload);
    let wif_bad = format!("{}1111", &wif[..wif.len() - 4]);
    v.push(
        Rule::new("bitcoin-wif-private-key", "Bitcoin private key (WIF)")
            .regex(r"(?i:wif|priv|private|secret|wallet|bitcoin|btc)[^\n]{0,40}?\b([5KLc9][1-9A-HJ-NP-Za-km-z]{50,51})\b")
            .group(1)
            .keywords(&["wif", "priv", "secret", "wallet", "bitcoin", "btc"])
            .validate(Validation::Base58Check)
            .tags(&["crypto", "checksum", "private-key"])
            .examples(&[format!("wallet_privkey = \"{wif}\"")])
            .negatives(&[format!("wallet_privkey = \"{wif_bad}\"")]),
    );
    let mut xprv_payload = vec![0x04u8, 0x88, 0xAD, 0xE4];
    xprv_payload.extend(rnd("xprv", ALNUM, 74).bytes());
    xprv_payload[45] = 0;
    let xprv = base58check_encode(&xprv_payload);
    let xprv_bad = format!("{}zzzz", &xprv[..xprv.len() - 4]);
    v.push(
        Rule::new(
            "bip32-extended-private-key",
            "BIP-32 extended private key (xprv/tprv)",
        )
        .regex(r"\b([xt]prv[1-9A-HJ-NP-Za-km-z]{100,})\b")
        .group(1)
        .keywords(&["xprv", "tprv"])
        .validate(Validation::Base58Check)
        .tags(&["crypto", "checksum", "private-key"])
        .examples(&[format!("seed: {xprv}")])
        .negatives(&[format!("seed: {xprv_bad}")]),
    );
    // PyPI: "pypi-" + URL-safe base64 of a macaroon (version 2, location pypi.org)
    let mut mac = vec![2u8, 1, 8];
    mac.extend(b"pypi.org");
    mac.extend([2u8, 1]);
    mac.extend(rnd("pypi", ALNUM, 60).bytes());
    let pypi = format!("pypi-{}", base64url_encode(&mac));
    v.push(
        Rule::new("pypi-upload-token", "PyPI API token")
            .regex(r"\b(pypi-AgE[A-Za-z0-9_\-]{60,})")
            .group(1)
            .keywords(&["pypi-age"])
            .entropy(3.0)
            .validate(Validation::PypiMacaroon)
            .tags(&["pypi", "python"])
            .examples(&[format!("password = {pypi}")])
            .negatives(&[
                format!("password = pypi-AgEIcHlwaS5vcmc{}", "A".repeat(70)),
                format!("pypi-AgE{}", "x".repeat(40)),
            ]),
    );
    let header = base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = base64url_encode(br#"{"sub":"1234567890","name":"svc","iat":1716239022}"#);
    let jwt = format!(
        "{header}.{payload}.{}",
        rnd(
            "jwt",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_",
            43
        )
    );
    v.push(
        Rule::new("jwt", "JSON Web Token")
            .regex(r"\b(eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{20,})")
            .group(1)
            .keywords(&["eyj"])
            .validate(Validation::Jwt)
            .entropy(3.0)
            .tags(&["jwt"])
            .examples(&[format!("Authorization: Bearer {jwt}")])
            .negatives(&[
                format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.{}", "_".repeat(30)),
                "eyJnotjsonatall.eyJalsonotjson.abcdefghijklmnopqrstuvwxyz".to_string(),
            ]),
    );
    v
}

fn pem(id: &str, desc: &str, label: &str, tags: &[&str]) -> Rule {
    let body: String = (0..12)
        .map(|i| format!("{}\n", rnd(&format!("{id}{i}"), B64, 64)))
        .collect();
    let re = format!(
        r"-----BEGIN {label}-----((?:[A-Za-z0-9+/=:,\- \t\r\n\x22']|\\n|\\r){{64,}}?)-----END {label}-----"
    );
    let kw = format!("begin {}", label.to_ascii_lowercase());
    Rule::new(id, desc)
        .regex(re)
        .group(1)
        .keywords(&[kw.as_str()])
        .entropy(4.0)
        .tags(tags)
        .examples(&[
            format!("-----BEGIN {label}-----\n{body}-----END {label}-----\n"),
            format!("\"key\": \"-----BEGIN {label}-----\\n{}\\n-----END {label}-----\\n\"", body.replace('\n', "\\n")),
        ])
        .negatives(&[
            format!("-----BEGIN {label}-----\n...\n-----END {label}-----"),
            format!("-----BEGIN {label}-----\n{}\n-----END {label}-----", "x".repeat(64)),
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----".to_string(),
        ])
}

fn keys() -> Vec<Rule> {
    let mut v = vec![
        pem(
            "private-key-rsa",
            "RSA private key (PKCS#1 PEM)",
            "RSA PRIVATE KEY",
            &["private-key"],
        ),
        pem(
            "private-key-ec",
            "EC private key (SEC1 PEM)",
            "EC PRIVATE KEY",
            &["private-key"],
        ),
        pem(
            "private-key-dsa",
            "DSA private key (PEM)",
            "DSA PRIVATE KEY",
            &["private-key"],
        ),
        pem(
            "private-key-openssh",
            "OpenSSH private key",
            "OPENSSH PRIVATE KEY",
            &["private-key", "ssh"],
        ),
        pem(
            "private-key-pkcs8",
            "Private key (PKCS#8 PEM)",
            "PRIVATE KEY",
            &["private-key"],
        ),
        pem(
            "private-key-pkcs8-encrypted",
            "Encrypted private key (PKCS#8 PEM)",
            "ENCRYPTED PRIVATE KEY",
            &["private-key", "encrypted"],
        ),
        pem(
            "pgp-private-key-block",
            "OpenPGP private key block",
            "PGP PRIVATE KEY BLOCK",
            &["private-key", "pgp"],
        ),
        pem(
            "private-key-ssh2",
            "SSH2 (RFC 4716) private key",
            "SSH2 ENCRYPTED PRIVATE KEY",
            &["private-key", "ssh"],
        ),
    ];
    let pub_lines: String = (0..2)
        .map(|i| format!("{}\n", rnd(&format!("ppk-pub{i}"), B64, 64)))
        .collect();
    let priv_lines: String = (0..3)
        .map(|i| format!("{}\n", rnd(&format!("ppk-priv{i}"), B64, 64)))
        .collect();
    let ppk = format!(
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n{pub_lines}Private-Lines: 3\n{priv_lines}Private-MAC: {}\n",
        rnd("ppk-mac", b"0123456789abcdef", 64)
    );
    v.push(
        Rule::new("putty-private-key", "PuTTY private key file")
            .regex(r"PuTTY-User-Key-File-[23]: [a-z0-9\-]{3,40}\r?\n[\s\S]*?\nPrivate-Lines: [0-9]{1,3}\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)")
            .group(1)
            .keywords(&["putty-user-key-file-"])
            .entropy(4.0)
            .tags(&["private-key", "ssh", "putty"])
            .examples(&[ppk])
            .negatives(&["PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 1\nAAAA\n"]),
    );
    let gcp_key: String = (0..8)
        .map(|i| format!("{}\\n", rnd(&format!("gcp{i}"), B64, 64)))
        .collect();
    let gcp = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-prod\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{gcp_key}-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"ci@acme-prod.iam.gserviceaccount.com\"\n}}\n",
        rnd("gcp-kid", b"0123456789abcdef", 40)
    );
    v.push(
        Rule::new("gcp-service-account-key", "Google Cloud service account key (JSON)")
            .regex(r#""type"[ \t]{0,4}:[ \t]{0,4}"service_account"[\s\S]{0,}?"private_key"[ \t]{0,4}:[ \t]{0,4}"(-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----[^"]{64,}?)""#)
            .group(1)
            .keywords(&["service_account"])
            .tags(&["gcp", "google", "private-key"])
            .examples(&[gcp])
            .negatives(&["{\"type\": \"service_account\", \"project_id\": \"x\", \"private_key_id\": \"<KEY_ID>\"}"]),
    );
    let jwk_d = rnd(
        "jwk",
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_",
        43,
    );
    v.push(
        Rule::new("jwk-private-key", "JSON Web Key with private part")
            .regex(r#""kty"[ \t]{0,4}:[ \t]{0,4}"(?:EC|RSA|OKP)"[^}]{0,}?"d"[ \t]{0,4}:[ \t]{0,4}"([A-Za-z0-9_\-]{32,})""#)
            .group(1)
            .keywords(&["\"kty\""])
            .entropy(3.5)
            .tags(&["private-key", "jwk"])
            .examples(&[format!("{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"d\":\"{jwk_d}\"}}")])
            .negatives(&["{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"]),
    );
    let kube = rnd("kube", B64, 120);
    v.push(
        Rule::new(
            "kubeconfig-client-key",
            "Kubernetes kubeconfig client key data",
        )
        .regex(r"client-key-data:[ \t]{0,4}([A-Za-z0-9+/=]{100,})")
        .group(1)
        .keywords(&["client-key-data"])
        .entropy(4.5)
        .tags(&["kubernetes", "private-key"])
        .examples(&[format!(
            "users:\n- name: admin\n  user:\n    client-key-data: {kube}\n"
        )])
        .negatives(&["    client-key-data: REDACTED"]),
    );
    v
}

/// Regex for `name = value` assignments in code, config, env and YAML:
/// group 1 is the name, group 2 the value.
fn assignment(name: &str, value: &str) -> String {
    format!(
        r#"(?i)((?:{name})[A-Za-z0-9_.\-]*)\\?["'`]?\]?(?:[ \t]*:[ \t]*&?(?:'static[ \t]+)?[A-Za-z_][A-Za-z0-9_<>\[\]]*[ \t]*=|[ \t]*(?::=|=>|=|:|,))[ \t]*(?:(?:\[\])?[A-Za-z_]+(?:(?:::|\.)[A-Za-z_]+)*\()?\[?@?\\?["'`]?({value})(?:\\?["'`\s;,)<]|\z)"#
    )
}

/// The documented, public keys of the Azure Storage (Azurite) and Cosmos DB emulators.
pub(crate) fn azure_emulator_keys() -> Allowlist {
    Allowlist {
        description: Some("Azure emulator well-known keys".into()),
        stopwords: vec![
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==".into(),
            "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==".into(),
        ],
        ..Allowlist::default()
    }
}

fn cloud() -> Vec<Rule> {
    let aws_id = format!(
        "AKIA{}",
        rnd("aws-id", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let aws_secret = rnd("aws-secret", B64, 40);
    let azure_key = format!("{}==", rnd("azure-key", B64, 86));
    let sb_key = format!("{}=", rnd("sb-key", B64, 43));
    let sas_sig = format!("{}%3D", rnd("sas", ALNUM, 43));
    let entra = format!(
        "{}8Q~{}",
        rnd("entra-a", ALNUM, 3),
        rnd(
            "entra-b",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_~.-",
            34
        )
    );
    vec![
        Rule::new("aws-access-key-id", "AWS access key ID")
            .regex(r"\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b")
            .group(1)
            .keywords(&["akia", "asia", "abia", "acca", "a3t"])
            .entropy(3.0)
            .validate(Validation::AwsKeyId)
            // an access key id alone grants nothing (AWS documents it as an identifier); the
            // secret key beside it blocks, through the rules below
            .severity(Severity::Warn)
            .tags(&["aws"])
            .examples(&[format!("aws_access_key_id = {aws_id}")])
            .negatives(&["aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIA0000000000000000"]),
        Rule::new("aws-secret-access-key", "AWS secret access key")
            .regex(assignment(r"aws_?secret_?(?:access_?)?key|secret_?access_?key|aws_?secret", "[A-Za-z0-9/+]{40}"))
            .group(2)
            .keywords(&["secret"])
            .entropy(4.0)
            .allow(Allowlist { stopwords: vec!["example".into()], ..Allowlist::default() })
            .tags(&["aws"])
            .examples(&[
                format!("aws_secret_access_key = {aws_secret}"),
                format!("AWS_SECRET_ACCESS_KEY=\"{aws_secret}\""),
                format!("\"SecretAccessKey\": \"{aws_secret}\""),
            ])
            .negatives(&[
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
                "aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']",
            ]),
        Rule::new("aws-session-token", "AWS session token")
            .regex(assignment(r"aws_?session_?token|session_?token", "(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9/+=]{100,}"))
            .group(2)
            .keywords(&["session"])
            .tags(&["aws"])
            .examples(&[format!("aws_session_token = IQoJb3JpZ2luX2Vj{}", rnd("aws-session", B64, 300))])
            .negatives(&["aws_session_token = <session-token>"]),
        Rule::new("azure-storage-connection-string", "Azure Storage account connection string with key")
            .regex(r"(?i)DefaultEndpointsProtocol=https?;AccountName=[a-z0-9]{3,24};AccountKey=([A-Za-z0-9+/]{86}==)")
            .group(1)
            .keywords(&["accountkey="])
            .entropy(4.5)
            .allow(azure_emulator_keys())
            .tags(&["azure"])
            .examples(&[format!("DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={azure_key};EndpointSuffix=core.windows.net")])
            .negatives(&["DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=<key>;", "UseDevelopmentStorage=true"]),
        Rule::new("azure-storage-account-key", "Azure Storage / Cosmos DB account key")
            .regex(r"(?i)(?:AccountKey|account_key|storage_key|primary_?key)[\x22']?[ \t]{0,4}[:=][ \t]{0,4}[\x22']?([A-Za-z0-9+/]{86}==)")
            .group(1)
            .keywords(&["accountkey", "account_key", "storage_key", "primarykey", "primary_key"])
            .entropy(4.5)
            .allow(azure_emulator_keys())
            .tags(&["azure"])
            .examples(&[format!("AccountEndpoint=https://acme.documents.azure.com:443/;AccountKey={azure_key};")])
            .negatives(&["AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="]),
        Rule::new("azure-service-bus-connection-string", "Azure Service Bus / Event Hubs connection string")
            .regex(r"(?i)Endpoint=sb://[a-z0-9.\-]{3,}/?;SharedAccessKeyName=[^;\s]{1,};SharedAccessKey=([A-Za-z0-9+/]{43}=)")
            .group(1)
            .keywords(&["sharedaccesskey="])
            .entropy(4.0)
            .tags(&["azure"])
            .examples(&[format!("Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={sb_key}")])
            .negatives(&["Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=<key>"]),
        Rule::new("azure-sas-token", "Azure shared access signature (SAS) with signature")
            .regex(r"[?&]sv=[0-9]{4}-[0-9]{2}-[0-9]{2}&[^\s\x22'<>]{0,}?\bsig=([A-Za-z0-9%+/]{40,})")
            .group(1)
            .keywords(&["sig="])
            .entropy(3.5)
            .tags(&["azure"])
            .examples(&[format!("https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig={sas_sig}")])
            .negatives(&["https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&sig=<signature>"]),
        Rule::new("azure-ad-client-secret", "Microsoft Entra ID (Azure AD) client secret")
            .regex(r"(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|\z)")
            .group(1)
            .keywords(&["q~"])
            .entropy(3.5)
            .tags(&["azure"])
            .examples(&[format!("AZURE_CLIENT_SECRET={entra}")])
            .negatives(&["AZURE_CLIENT_SECRET=abc8Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]),
        Rule::new("azure-app-configuration-connection-string", "Azure App Configuration connection string")
            .regex(r"(?i)Endpoint=https://[a-z0-9\-]{1,64}\.azconfig\.io;Id=[^;\s]{1,64};Secret=([A-Za-z0-9+/]{40,60}=?)")
            .group(1)
            .keywords(&["azconfig.io"])
            .entropy(4.0)
            .tags(&["azure"])
            .examples(&[format!("Endpoint=https://acme.azconfig.io;Id=Ab1c-l0-s0:Xyz;Secret={}", rnd("azconfig", B64, 44))])
            .negatives(&["Endpoint=https://acme.azconfig.io;Id=x;Secret=<secret>"]),
    ]
}

fn urls() -> Vec<Rule> {
    let pw = rnd("db-pw", ALNUM, 18);
    let url_rule = |id: &str, desc: &str, schemes: &str, kw: &[&str], ex_scheme: &str| {
        Rule::new(id, desc)
            .regex(format!(r"(?i)\b(?:{schemes})://([^:/?#@\s\x22']{{0,64}}):([^@/?#\s\x22']{{3,}})@[A-Za-z0-9.\-_\[\]:]{{1,}}"))
            .group(2)
            // `guest:guest@`, `postgres:postgres@`: a default, not a secret
            .validate(Validation::UrlPassword)
            .keywords(kw)
            .allow(Allowlist {
                description: Some("documentation hosts".into()),
                regex_target: RegexTarget::Match,
                regexes: vec![r"@(?:[A-Za-z0-9\-]+\.)*(?:example\.(?:com|org|net)|[A-Za-z0-9\-]+\.(?:example|invalid|test))(?:[:/]|\z)".into()],
                ..Allowlist::default()
            })
            .tags(&["database", "url"])
            .examples(&[format!("url = \"{ex_scheme}://app:{pw}@db.internal:5432/app\"")])
            .negatives(&[
                format!("url = \"{ex_scheme}://app:${{DB_PASSWORD}}@db.internal/app\""),
                format!("url = \"{ex_scheme}://user:password@localhost/app\""),
                format!("url = \"{ex_scheme}://db.internal:5432/app\""),
                format!("url = \"{ex_scheme}://app:{pw}@db.example.com/app\""),
            ])
    };
    vec![
        url_rule("database-url-password", "SQL database URL with password", "postgres(?:ql)?|mysql|mariadb|mssql|sqlserver|oracle|cockroachdb|clickhouse|db2|postgresql\\+[a-z0-9]+|mysql\\+[a-z0-9]+", &["postgres", "mysql", "mariadb", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "db2"], "postgres"),
        url_rule("mongodb-url-password", "MongoDB connection string with password", "mongodb(?:\\+srv)?", &["mongodb"], "mongodb+srv"),
        url_rule("redis-url-password", "Redis URL with password", "rediss?", &["redis"], "redis"),
        url_rule("amqp-url-password", "AMQP (RabbitMQ) URL with password", "amqps?", &["amqp"], "amqps"),
        url_rule("url-credentials", "URL with embedded credentials (any scheme: HTTP, FTP, SMTP, LDAP, …)", "[a-z][a-z0-9+.\\-]{1,24}", &["://"], "https"),
        Rule::new("jdbc-url-password", "JDBC URL with password parameter")
            .regex(r"(?i)jdbc:[a-z0-9]{2,20}:[^\s\x22']{1,}?[?&;]password=([^&;\s\x22']{3,})")
            .group(1)
            .keywords(&["jdbc:"])
            .validate(Validation::Password)
            .tags(&["database", "url"])
            .examples(&[format!("spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password={pw}")])
            .negatives(&["spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password=${DB_PASSWORD}"]),
        Rule::new("adonet-connection-string-password", "ADO.NET / ODBC connection string with password")
            .regex(r"(?i)\b(?:Server|Data Source|Host|DSN|Driver|Database|Initial Catalog|User ID|UID|Address|Addr)=[^;\x22'\n]{1,};[^\x22'\n]{0,}?\b(?:Password|Pwd)=([^;\x22'\s]{3,})")
            .group(1)
            .keywords(&["password=", "pwd="])
            .validate(Validation::Password)
            .tags(&["database"])
            .examples(&[format!("\"Default\": \"Server=tcp:acme.database.windows.net,1433;Database=app;User ID=app;Password={pw};\"")])
            .negatives(&["\"Default\": \"Server=(localdb)\\\\mssqllocaldb;Database=app;Trusted_Connection=True;\"", "Server=db;User Id=sa;Password=<YourStrong@Passw0rd>;"]),
        Rule::new("npmrc-basic-auth", "npm registry credentials in .npmrc (_auth: base64 user:password)")
            .regex(r"(?m)(?:^|//[^\s]{1,255}/:)_auth[ \t]*=[ \t]*[\x22']?([A-Za-z0-9+/]{8,}={0,2})")
            .group(1)
            .keywords(&["_auth"])
            .validate(Validation::BasicAuth)
            .tags(&["npm"])
            .examples(&[format!("//npm.pkg.acme.io/:_auth={}", b64(format!("deploy:{pw}").as_bytes()))])
            .negatives(&["//npm.pkg.acme.io/:_auth=${NPM_AUTH}"]),
        Rule::new("npmrc-auth-token", "npm registry auth token in .npmrc")
            .regex(r"//[^\s]{1,}/:_authToken=([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9+/=._\-]{20,})")
            .group(1)
            .keywords(&["_authtoken="])
            .validate(Validation::Password)
            .tags(&["npm"])
            .examples(&["//registry.npmjs.org/:_authToken=5b2f8a0e-3c1d-4e6f-9a7b-0c1d2e3f4a5b"])
            .negatives(&["//registry.npmjs.org/:_authToken=${NPM_TOKEN}"]),
        Rule::new("docker-config-auth", "Docker registry credentials (config.json auth)")
            .regex(r#""auth"[ \t]{0,4}:[ \t]{0,4}"([A-Za-z0-9+/]{12,}={0,2})""#)
            .group(1)
            .keywords(&["\"auth\""])
            .entropy(3.5)
            .tags(&["docker"])
            .examples(&[format!("{{\"auths\": {{\"ghcr.io\": {{\"auth\": \"{}\"}}}}}}", base64url_encode(format!("ci:{pw}").as_bytes()).replace(['-', '_'], "A"))])
            .negatives(&["{\"auths\": {\"ghcr.io\": {\"auth\": \"\"}}}"]),
        Rule::new("slack-webhook-url", "Slack incoming webhook URL")
            .regex(r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}/[AB][A-Z0-9]{6,12}/[A-Za-z0-9]{20,40})")
            .group(1)
            .keywords(&["hooks.slack.com"])
            .entropy(3.5)
            .tags(&["slack", "webhook"])
            .examples(&[format!("SLACK_WEBHOOK=https://hooks.slack.com/services/T0123ABCD/B0456EFGH/{}", rnd("slackhook", ALNUM, 24))])
            .negatives(&["SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"]),
        Rule::new("teams-webhook-url", "Microsoft Teams incoming webhook URL")
            .regex(r"(https://[a-z0-9\-]{1,60}\.webhook\.office\.com/webhookb2/[0-9a-f\-]{36}@[0-9a-f\-]{36}/IncomingWebhook/[0-9a-f]{32}/[0-9a-f\-]{36}(?:/[A-Za-z0-9_\-]{20,80})?)")
            .group(1)
            .keywords(&["webhook.office.com"])
            .entropy(3.0)
            .tags(&["microsoft", "webhook"])
            .examples(&[format!(
                "url: https://acme.webhook.office.com/webhookb2/{}@{}/IncomingWebhook/{}/{}",
                "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "7c9e6679-7425-40de-944b-e07fc1f90ae7", rnd("teams", b"0123456789abcdef", 32), "9b2d7a4e-6f3c-4c8e-a1d5-3e7f0b9c2d41"
            )])
            .negatives(&["url: https://acme.webhook.office.com/webhookb2/<id>"]),
    ]
}

/// Contextual rules: a provider keyword near an assignment of a value with no prefix of its own.
fn contextual() -> Vec<Rule> {
    let c = |id: &str,
             desc: &str,
             name: &str,
             value: &str,
             kw: &[&str],
             ex_name: &str,
             ex_value: String,
             tags: &[&str]| {
        Rule::new(id, desc)
            .regex(assignment(name, value))
            .group(2)
            .keywords(kw)
            .entropy(3.0)
            .validate(Validation::Password)
            .tags(tags)
            .examples(&[
                format!("{ex_name} = \"{ex_value}\""),
                format!("{ex_name}: {ex_value}"),
            ])
            .negatives(&[
                format!("{ex_name} = \"${{{}}}\"", ex_name.to_ascii_uppercase()),
                format!("{ex_name} = \"{}\"", "x".repeat(ex_value.len())),
            ])
    };
    let hex32 = |s: &str| rnd(s, b"0123456789abcdef", 32);
    vec![
        c(
            "twilio-auth-token",
            "Twilio auth token",
            "twilio[a-z_\\-]{0,12}(?:auth)?_?token",
            "[0-9a-f]{32}",
            &["twilio"],
            "TWILIO_AUTH_TOKEN",
            hex32("twilio"),
            &["twilio"],
        ),
        c(
            "heroku-api-key-legacy",
            "Heroku API key (UUID)",
            "heroku[a-z_\\-]{0,12}(?:api)?_?key",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            &["heroku"],
            "HEROKU_API_KEY",
            "3f2b8c1e-9d4a-4e7b-8a6c-1f0e2d3c4b5a".into(),
            &["heroku"],
        ),
        c(
            "okta-api-token",
            "Okta API token",
            "okta[a-z_\\-]{0,12}(?:api)?_?token",
            "00[A-Za-z0-9_\\-]{40}",
            &["okta"],
            "OKTA_API_TOKEN",
            format!("00{}", rnd("okta", ALNUM, 40)),
            &["okta"],
        ),
        c(
            "cloudflare-api-token",
            "Cloudflare API token",
            "cloudflare[a-z_\\-]{0,12}(?:api)?_?(?:token|key)|cf_api_(?:token|key)",
            "[A-Za-z0-9_\\-]{37,40}",
            &["cloudflare", "cf_api"],
            "CLOUDFLARE_API_TOKEN",
            rnd("cloudflare", ALNUM, 40),
            &["cloudflare"],
        ),
        c(
            "algolia-admin-key",
            "Algolia admin API key",
            "algolia[a-z_\\-]{0,12}(?:admin|api|write)_?key",
            "[0-9a-f]{32}",
            &["algolia"],
            "ALGOLIA_ADMIN_KEY",
            hex32("algolia"),
            &["algolia"],
        ),
        c(
            "datadog-api-key",
            "Datadog API or application key",
            "(?:datadog|dd)_(?:api|app(?:lication)?)_?key",
            "[0-9a-f]{32}|[0-9a-f]{40}",
            &["datadog", "dd_api", "dd_app"],
            "DD_API_KEY",
            hex32("datadog"),
            &["datadog"],
        ),
        c(
            "pagerduty-api-key",
            "PagerDuty API key",
            "pagerduty[a-z_\\-]{0,12}(?:api)?_?(?:key|token)",
            "[A-Za-z0-9_+\\-]{20}|[0-9a-f]{32}",
            &["pagerduty"],
            "PAGERDUTY_API_KEY",
            rnd("pagerduty", ALNUM, 20),
            &["pagerduty"],
        ),
        c(
            "mailjet-secret-key",
            "Mailjet API secret key",
            "mailjet[a-z_\\-]{0,12}secret(?:_?key)?|mj_apikey_private",
            "[0-9a-f]{32}",
            &["mailjet", "mj_apikey"],
            "MAILJET_SECRET_KEY",
            hex32("mailjet"),
            &["mailjet", "email"],
        ),
        c(
            "postmark-server-token",
            "Postmark server token",
            "postmark[a-z_\\-]{0,12}(?:server|api)?_?token",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            &["postmark"],
            "POSTMARK_SERVER_TOKEN",
            "8c4f1e2a-5b7d-4c9e-a3f1-6d2b8e0c4a7f".into(),
            &["postmark", "email"],
        ),
        c(
            "snyk-api-token",
            "Snyk API token",
            "snyk[a-z_\\-]{0,12}(?:api)?_?token",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            &["snyk"],
            "SNYK_TOKEN",
            "2d7e9f1a-4b3c-4e8d-9f6a-0b1c2d3e4f5a".into(),
            &["snyk"],
        ),
        c(
            "launchdarkly-access-token",
            "LaunchDarkly API access token",
            "launchdarkly[a-z_\\-]{0,12}(?:access|api)?_?(?:token|key)",
            "api-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            &["launchdarkly"],
            "LAUNCHDARKLY_ACCESS_TOKEN",
            "api-5e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b".into(),
            &["launchdarkly"],
        ),
        c(
            "gitter-access-token",
            "Gitter access token",
            "gitter[a-z_\\-]{0,12}(?:access)?_?token",
            "[a-z0-9_\\-]{40}",
            &["gitter"],
            "GITTER_TOKEN",
            rnd("gitter", b"abcdefghijklmnopqrstuvwxyz0123456789", 40),
            &["gitter"],
        ),
        c(
            "sumologic-access-key",
            "Sumo Logic access key",
            "sumo[a-z_\\-]{0,12}(?:access)?_?key",
            "[A-Za-z0-9]{64}",
            &["sumo"],
            "SUMO_ACCESS_KEY",
            rnd("sumo", ALNUM, 64),
            &["sumologic"],
        ),
        c(
            "fastly-api-token",
            "Fastly API token",
            "fastly[a-z_\\-]{0,12}(?:api)?_?(?:token|key)",
            "[A-Za-z0-9_\\-]{32}",
            &["fastly"],
            "FASTLY_API_TOKEN",
            rnd("fastly", ALNUM, 32),
            &["fastly"],
        ),
        c(
            "linode-token",
            "Linode (Akamai) API token",
            "linode[a-z_\\-]{0,12}(?:api)?_?token",
            "[0-9a-f]{64}",
            &["linode"],
            "LINODE_TOKEN",
            rnd("linode", b"0123456789abcdef", 64),
            &["linode"],
        ),
        c(
            "hetzner-api-token",
            "Hetzner Cloud API token",
            "hcloud_?token|hetzner[a-z_\\-]{0,12}token",
            "[A-Za-z0-9]{64}",
            &["hcloud", "hetzner"],
            "HCLOUD_TOKEN",
            rnd("hetzner", ALNUM, 64),
            &["hetzner"],
        ),
        c(
            "vultr-api-key",
            "Vultr API key",
            "vultr[a-z_\\-]{0,12}(?:api)?_?key",
            "[A-Z0-9]{36}",
            &["vultr"],
            "VULTR_API_KEY",
            rnd("vultr", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 36),
            &["vultr"],
        ),
        c(
            "jira-api-token",
            "Jira / Confluence API token (legacy 24-char)",
            "(?:jira|confluence|atlassian)[a-z_\\-]{0,12}(?:api)?_?token",
            "[A-Za-z0-9]{24}",
            &["jira", "confluence", "atlassian"],
            "JIRA_API_TOKEN",
            rnd("jira", ALNUM, 24),
            &["atlassian"],
        ),
        c(
            "wandb-api-key",
            "Weights & Biases API key",
            "wandb[a-z_\\-]{0,12}(?:api)?_?key",
            "[0-9a-f]{40}",
            &["wandb"],
            "WANDB_API_KEY",
            rnd("wandb", b"0123456789abcdef", 40),
            &["wandb", "ai"],
        ),
        c(
            "openai-api-key-context",
            "OpenAI API key (contextual)",
            "openai[a-z_\\-]{0,12}(?:api)?_?key",
            "sk-[A-Za-z0-9_\\-]{40,}",
            &["openai"],
            "OPENAI_API_KEY",
            format!("sk-{}", rnd("openai-ctx", ALNUM, 48)),
            &["openai", "ai"],
        ),
        c(
            "mistral-api-key",
            "Mistral AI API key",
            "mistral[a-z_\\-]{0,12}(?:api)?_?key",
            "[A-Za-z0-9]{32}",
            &["mistral"],
            "MISTRAL_API_KEY",
            rnd("mistral", ALNUM, 32),
            &["mistral", "ai"],
        ),
        c(
            "cohere-api-key",
            "Cohere API key",
            "co(?:here)?_api_key",
            "[A-Za-z0-9]{40}",
            &["co_api_key", "cohere"],
            "COHERE_API_KEY",
            rnd("cohere", ALNUM, 40),
            &["cohere", "ai"],
        ),
    ]
}

/// Generic assignments: tuned for precision (placeholders, lookups, identifiers, hashes rejected).
fn generic() -> Vec<Rule> {
    let pw = format!(
        "{}!{}",
        rnd("gen-pw-a", ALNUM, 8),
        rnd("gen-pw-b", ALNUM, 6)
    );
    let key = rnd("gen-key", ALNUM, 32);
    let negatives = [
        "password = os.environ['DB_PASSWORD']",
        "password = \"${DB_PASSWORD}\"",
        "password: \"{{ .Values.db.password }}\"",
        "password = \"<your-password>\"",
        "password = \"changeme\"",
        "password = \"xxxxxxxxxxxx\"",
        "password = getpass.getpass()",
        "password = config.get('db', 'password')",
        "password = request.form['password']",
        "password_hash = \"5f4dcc3b5aa765d61d8327deb882cf99\"",
        "api_key = process.env.API_KEY",
        "token_type = \"bearer_token_v2\"",
        "secret_name = \"prod/db/credentials\"",
        "public_key = \"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEk8f3b2c1\"",
        "session_id = \"550e8400-e29b-41d4-a716-446655440000\"",
        "api_key = \"550e8400-e29b-41d4-a716-446655440000\"",
        "secret = \"secret_key_name_here\"",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "password = None",
        "passwordField = \"input#password\"",
        "auth_token = self.auth_token",
        "secret_file = \"/run/secrets/db_password.txt\"",
    ];
    vec![
        Rule::new("generic-password", "Password assigned in code or configuration")
            .regex(assignment("(?:db_|database_|admin_|root_|smtp_|mail_|ldap_|mysql_|postgres_|redis_|user_|become_|ssh_|sudo_)?(?:password|passwd|pwd|pass)", r#"[^\s"'`;,()\[\]{}<>\\]{8,}"#))
            .group(2)
            .keywords(&["pass", "pwd"])
            .entropy(2.8)
            .validate(Validation::GenericPassword)
            .allow(Allowlist { regex_target: RegexTarget::Line, regexes: vec![r"(?i)\b(?:example|sample|placeholder|dummy)\b".into(), r"arn:aws[a-z\-]{0,12}:(?:secretsmanager|ssm|kms):".into()], ..Allowlist::default() })
            .tags(&["generic", "password"])
            .examples(&[format!("DB_PASSWORD={pw}"), format!("password: \"{pw}\""), format!("  'password' => '{pw}',")])
            .negatives(&negatives),
        Rule::new("generic-api-key", "API key, token or secret assigned in code or configuration")
            .regex(assignment(
                "(?:api|access|auth|client|app|private|secret|master|service|signing|encryption|bearer|refresh|routing|integration|license|webhook|session|account|admin|deploy|write|shared|consumer|partner|hmac|aes|jwt|cipher|crypt|des)[_\\-.]?(?:key|token|secret)|secret|token|passphrase|credentials|pepper",
                r#"[A-Za-z0-9_\-+/=.~!*&@#%^?]{16,}"#,
            ))
            .group(2)
            .keywords(&["key", "secret", "token", "credential", "passphrase", "pepper"])
            .entropy(3.0)
            .validate(Validation::GenericKey)
            .allow(Allowlist { regex_target: RegexTarget::Line, regexes: vec![r"(?i)\b(?:example|sample|placeholder|dummy)\b".into(), r"arn:aws[a-z\-]{0,12}:(?:secretsmanager|ssm|kms):".into()], ..Allowlist::default() })
            .tags(&["generic", "api-key"])
            .examples(&[format!("API_KEY={key}"), format!("client_secret: \"{key}\""), format!("const accessToken = '{key}';")])
            .negatives(&negatives),
    ]
}

pub(crate) fn rules() -> Vec<Rule> {
    let mut v = checksummed();
    v.extend(keys());
    v.extend(cloud());
    v.extend(shaped());
    v.extend(urls());
    v.extend(contextual());
    // Generic rules last: specific rules win overlaps.
    v.extend(generic());
    v
}

#!/usr/bin/env python3
"""Blind secret-detection corpus generator ("unseen").

Deterministic: fixed seed, python3 stdlib only. Prints one JSON object per line
(one object = one file). All secret values are random draws from the seeded RNG;
none is a real credential. See README.md for the labelling rules.
"""
import base64
import json
import random
import string
import struct
import sys
import textwrap
import zlib

SEED = 0x0B11D3
R = random.Random(SEED)

DIG = string.digits
UP = string.ascii_uppercase
LO = string.ascii_lowercase
B62 = DIG + UP + LO
HEX = "0123456789abcdef"


def rs(alpha, n):
    return "".join(R.choice(alpha) for _ in range(n))


def b62(n):
    return rs(B62, n)


def hx(n):
    return rs(HEX, n)


def HX(n):
    return rs(HEX.upper(), n)


def b64c(n):
    return rs(B62 + "+/", n)


def b64u(n):
    return rs(B62 + "-_", n)


def upd(n):
    return rs(UP + DIG, n)


def dig(n):
    return rs(DIG, n)


def rbytes(n):
    return bytes(R.getrandbits(8) for _ in range(n))


def b64(b):
    return base64.b64encode(b).decode()


def uuid4():
    h = hx(32)
    h = h[:12] + "4" + h[13:16] + R.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


WORDS = ("river maple orbit falcon copper lantern velvet quartz harbor cedar tundra "
         "mosaic ember pixel nimbus saffron glacier willow cobalt thistle").split()


def pw(n=None):
    """A random password: either a strong random string or a human-style one."""
    if R.random() < 0.55:
        n = n or R.randint(14, 24)
        return rs(B62 + "!#%*-_.@^", n - 2) + R.choice(DIG) + R.choice("!#%*_")
    w = R.sample(WORDS, 2)
    return w[0].capitalize() + R.choice("-_.!") + w[1] + dig(R.randint(2, 4)) + R.choice("!#%*$")


def pw_plain(n=20):
    """password safe inside URLs / shell without quoting"""
    return b62(n)


# ---------------- provider token formats ----------------

def _b62enc(num):
    out = ""
    while num:
        num, r = divmod(num, 62)
        out = B62[r] + out
    return out or "0"


def gh(prefix="ghp"):
    body = b62(30)
    crc = _b62enc(zlib.crc32(body.encode()) & 0xFFFFFFFF).rjust(6, "0")
    return f"{prefix}_{body}{crc}"


def gh_badcrc(prefix="ghp"):
    t = gh(prefix)
    last = t[-1]
    return t[:-1] + ("A" if last != "A" else "B")


def gh_fine():
    return "github_pat_" + b62(22) + "_" + b62(59)


def slack_bot():
    return f"xoxb-{dig(12)}-{dig(13)}-{b62(24)}"


def slack_user():
    return f"xoxp-{dig(12)}-{dig(12)}-{dig(13)}-{hx(32)}"


def slack_hook():
    return f"https://hooks.slack.com/services/T{upd(8)}/B{upd(10)}/{b62(24)}"


def stripe(prefix="sk_live_"):
    return prefix + b62(R.choice([24, 99]))


def glpat():
    return "glpat-" + b64u(20)


def openai():
    return "sk-proj-" + b64u(74) + "T3BlbkFJ" + b64u(74)


def anthropic():
    return "sk-ant-api03-" + b64u(93) + "AA"


def sendgrid():
    return "SG." + b64u(22) + "." + b64u(43)


def npm():
    return "npm_" + b62(36)


def pypi():
    return "pypi-AgEIcHlwaS5vcmc" + b64u(R.randint(140, 170))


def hf():
    return "hf_" + rs(string.ascii_letters, 34)


def shopify():
    return "shpat_" + hx(32)


def do_token():
    return "dop_v1_" + hx(64)


def doppler():
    return "dp.st.prd." + b62(40)


def linear():
    return "lin_api_" + b62(40)


def sonar():
    return "squ_" + hx(40)


def postman():
    return "PMAK-" + hx(24) + "-" + hx(34)


def telegram():
    return dig(10) + ":AA" + b64u(33)


def discord_bot():
    uid = str(R.randint(10**17, 10**18))
    return b64(uid.encode()).rstrip("=") + "." + b64u(6) + "." + b64u(38)


def discord_hook():
    return f"https://discord.com/api/webhooks/{R.randint(10**17, 10**18)}/{b64u(68)}"


def teams_hook():
    return (f"https://contoso365.webhook.office.com/webhookb2/{uuid4()}@{uuid4()}"
            f"/IncomingWebhook/{hx(32)}/{uuid4()}")


def whsec():
    return "whsec_" + b62(32)


def vault_token():
    return "hvs." + b64u(90)


def tfc_token():
    return b62(14) + ".atlasv1." + b62(67)


def grafana_sa():
    return "glsa_" + b62(32) + "_" + hx(8)


def newrelic():
    return "NRAK-" + upd(27)


def databricks():
    return "dapi" + hx(32)


def mailgun():
    return "key-" + hx(32)


# ---------------- cloud ----------------

def aws_id(prefix="AKIA"):
    return prefix + upd(16)


def aws_secret():
    return rs(B62 + "+/", 40)


def aws_session():
    return "IQoJb3JpZ2luX2VjE" + b64c(R.choice([356, 420, 512])) + "="


def azure_storage_key():
    return b64(rbytes(64))


def azure_client_secret():
    return b62(3) + "8Q~" + rs(B62 + "_.~-", 34)


def jwt_like(claims):
    hdr = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode()).decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{hdr}.{body}.{b64u(43)}"


def jwt_rs(claims):
    hdr = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": hx(16)}, separators=(",", ":")).encode()).decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{hdr}.{body}.{b64u(342)}"


# ---------------- PEM / key material ----------------

def wrap(s, w=64):
    return "\n".join(s[i:i + w] for i in range(0, len(s), w))


def pem(label, der, width=64):
    return f"-----BEGIN {label}-----\n{wrap(b64(der), width)}\n-----END {label}-----"


def der_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xFF])


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def rsa_pkcs1():
    return b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + rbytes(1192 - 12)


def rsa_pkcs8():
    return (b"\x30\x82\x04\xbe\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00"
            b"\x04\x82\x04\xa8\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00") + rbytes(1218 - 38)


def ec_sec1():
    return (b"\x30\x77\x02\x01\x01\x04\x20" + rbytes(32) +
            b"\xa0\x0a\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\xa1\x44\x03\x42\x00\x04" + rbytes(64))


def ec_p8():
    return (b"\x30\x81\x93\x02\x01\x00\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
            b"\x04\x79\x30\x77\x02\x01\x01\x04\x20" + rbytes(32) +
            b"\xa0\x0a\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\xa1\x44\x03\x42\x00\x04" + rbytes(64))


def ed_p8():
    return b"\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20" + rbytes(32)


def sshstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def ed25519_pub_blob(pub=None):
    return sshstr("ssh-ed25519") + sshstr(pub or rbytes(32))


def ssh_ed25519_pub(comment):
    return "ssh-ed25519 " + b64(ed25519_pub_blob()) + (" " + comment if comment else "")


def ssh_rsa_pub(comment):
    n = b"\x00" + bytes([R.getrandbits(8) | 0x80]) + rbytes(255)
    blob = sshstr("ssh-rsa") + sshstr(b"\x01\x00\x01") + sshstr(n)
    return "ssh-rsa " + b64(blob) + (" " + comment if comment else "")


def openssh_ed25519(comment="deploy@ci"):
    pub = rbytes(32)
    priv = rbytes(32)
    check = rbytes(4)
    sec = check + check + sshstr("ssh-ed25519") + sshstr(pub) + sshstr(priv + pub) + sshstr(comment)
    pad = 1
    while len(sec) % 8:
        sec += bytes([pad])
        pad += 1
    blob = (b"openssh-key-v1\x00" + sshstr("none") + sshstr("none") + sshstr(b"") +
            struct.pack(">I", 1) + sshstr(ed25519_pub_blob(pub)) + sshstr(sec))
    return pem("OPENSSH PRIVATE KEY", blob, 70)


def openssh_rsa(comment="ops@bastion"):
    n = b"\x00" + rbytes(256)
    blob = (b"openssh-key-v1\x00" + sshstr("none") + sshstr("none") + sshstr(b"") +
            struct.pack(">I", 1) + sshstr(sshstr("ssh-rsa") + sshstr(b"\x01\x00\x01") + sshstr(n)))
    chk = rbytes(4)
    sec = chk + chk + sshstr("ssh-rsa") + sshstr(n) + sshstr(b"\x01\x00\x01") + sshstr(b"\x00" + rbytes(256)) \
        + sshstr(b"\x00" + rbytes(128)) + sshstr(b"\x00" + rbytes(128)) + sshstr(b"\x00" + rbytes(128)) + sshstr(comment)
    p = 1
    while len(sec) % 8:
        sec += bytes([p])
        p += 1
    return pem("OPENSSH PRIVATE KEY", blob + sshstr(sec), 70)


def cert_der():
    body = rbytes(R.randint(700, 900))
    tbs = b"\xa0\x03\x02\x01\x02\x02\x10" + rbytes(16) + b"\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00" + body
    return der(0x30, der(0x30, tbs) + b"\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00" + der(0x03, b"\x00" + rbytes(256)))


def cert_pem():
    return pem("CERTIFICATE", cert_der())


def rsa_spki():
    return (b"\x30\x82\x01\x22\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x03\x82\x01\x0f\x00"
            b"\x30\x82\x01\x0a\x02\x82\x01\x01\x00" + rbytes(256) + b"\x02\x03\x01\x00\x01")


def pgp_block(kind, nbytes, first=b"\x95\x03\x98"):
    data = first + rbytes(nbytes)
    crc = b64(rbytes(3))
    return (f"-----BEGIN PGP {kind}-----\n\n{wrap(b64(data), 64)}\n={crc}\n-----END PGP {kind}-----")


def pkcs12_bytes():
    inner = rbytes(R.randint(2200, 2600))
    auth = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01" + der(0xA0, der(0x04, inner))
    mac = der(0x30, der(0x30, der(0x30, b"\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00") + der(0x04, rbytes(32)))
              + der(0x04, rbytes(8)) + b"\x02\x02\x08\x00")
    return der(0x30, b"\x02\x01\x03" + der(0x30, auth) + mac)


def jks_bytes(entries, magic=0xFEEDFEED):
    out = struct.pack(">III", magic, 2, len(entries))
    for kind, alias in entries:
        a = alias.encode()
        out += struct.pack(">I", 1 if kind == "key" else 2) + struct.pack(">H", len(a)) + a
        out += struct.pack(">Q", 1700000000000 + R.randint(0, 10**10))
        if kind == "key":
            k = rbytes(R.randint(1250, 1300))
            out += struct.pack(">I", len(k)) + k + struct.pack(">I", 1)
        c = cert_der()
        out += struct.pack(">H", 5) + b"X.509" + struct.pack(">I", len(c)) + c
    return out + rbytes(20)


# ---------------- case registry ----------------

CASES = []


def T(text, **kw):
    text = textwrap.dedent(text)
    if text.startswith("\n"):
        text = text[1:]
    for k, v in kw.items():
        text = text.replace("\u00a7" + k + "\u00a7", str(v))
    assert "\u00a7" not in text, text[:200]
    return text


def C(family, fmt, path, text, secrets=(), short=None, keystore=False, data=None):
    """Register a case. secrets: list of (value, what); every line where the value
    starts is labelled. keystore=True: the whole (binary) file is the secret."""
    labels = []
    if keystore:
        labels.append({"line": 0, "what": secrets[0][1] if secrets else "keystore with private key"})
        raw = data
    else:
        raw = text.encode("utf-8")
        for value, what in secrets:
            start = 0
            found = False
            while True:
                i = text.find(value, start)
                if i < 0:
                    break
                found = True
                ln = text.count("\n", 0, i) + 1
                if not any(l["line"] == ln for l in labels):
                    labels.append({"line": ln, "what": what})
                start = i + len(value)
            assert found, (path, value[:30])
    labels.sort(key=lambda d: d["line"])
    CASES.append({"family": family, "format": fmt, "path": path, "raw": raw,
                  "secrets": labels, "short": short or path.rsplit("/", 1)[-1]})


# =====================================================================
# provider-token
# =====================================================================

def fam_provider():
    F = "provider-token"
    t = gh("ghp")
    C(F, "github-actions", ".github/workflows/nightly-release.yml", T("""
        name: nightly-release
        on:
          schedule:
            - cron: "17 3 * * *"
          workflow_dispatch: {}
        jobs:
          release:
            runs-on: ubuntu-22.04
            env:
              GH_TOKEN: §t§
              GORELEASER_CURRENT_TAG: nightly
            steps:
              - uses: actions/checkout@v4
                with:
                  fetch-depth: 0
              - uses: actions/setup-go@v5
                with:
                  go-version: "1.22"
              - name: goreleaser
                run: goreleaser release --clean --nightly
        """, t=t), [(t, "GitHub classic PAT in workflow env")])

    k = openai()
    C(F, "elixir", "config/runtime.exs", T("""
        import Config

        if config_env() == :prod do
          database_url =
            System.get_env("DATABASE_URL") ||
              raise "environment variable DATABASE_URL is missing."

          config :lexicon, Lexicon.Repo,
            url: database_url,
            pool_size: String.to_integer(System.get_env("POOL_SIZE") || "10")

          config :openai_ex,
            api_key: "§k§",
            organization: "org-§org§",
            http_options: [recv_timeout: 60_000]

          config :lexicon, LexiconWeb.Endpoint,
            url: [host: "lexicon.example.org", port: 443, scheme: "https"],
            secret_key_base: System.fetch_env!("SECRET_KEY_BASE")
        end
        """, k=k, org=b62(24)), [(k, "OpenAI project key")])

    k = anthropic()
    C(F, "lua", "nvim/lua/plugins/ai.lua", T("""
        -- AI completion setup (lazy.nvim spec)
        return {
          "yetone/avante.nvim",
          event = "VeryLazy",
          opts = {
            provider = "claude",
            claude = {
              endpoint = "https://api.anthropic.com",
              model = "claude-3-5-sonnet-20241022",
              temperature = 0,
              max_tokens = 4096,
            },
          },
          config = function(_, opts)
            vim.env.ANTHROPIC_API_KEY = "§k§"
            require("avante").setup(opts)
          end,
          dependencies = { "nvim-lua/plenary.nvim", "MunifTanjim/nui.nvim" },
        }
        """, k=k), [(k, "Anthropic API key")])

    h, o = hf(), openai()
    C(F, "r", "analysis/01_embed_abstracts.R", T("""
        library(httr2)
        library(dplyr)
        library(readr)

        # tokens for the embedding runs
        Sys.setenv(HUGGINGFACE_TOKEN = "§h§")
        Sys.setenv(OPENAI_API_KEY = "§o§")

        abstracts <- read_csv("data/abstracts_2023.csv", show_col_types = FALSE)

        embed_one <- function(txt) {
          request("https://api-inference.huggingface.co/pipeline/feature-extraction/sentence-transformers/all-MiniLM-L6-v2") |>
            req_auth_bearer_token(Sys.getenv("HUGGINGFACE_TOKEN")) |>
            req_body_json(list(inputs = txt)) |>
            req_perform() |>
            resp_body_json()
        }

        emb <- abstracts |> slice_head(n = 50) |> mutate(vec = lapply(abstract, embed_one))
        saveRDS(emb, "cache/emb_50.rds")
        """, h=h, o=o), [(h, "Hugging Face token"), (o, "OpenAI key")])

    s = stripe("sk_live_")
    pk = "pk_live_" + b62(99)
    C(F, "dart", "lib/config/payments.dart", T("""
        // Payments configuration for the Flutter client.
        class PaymentsConfig {
          static const String publishableKey =
              '§pk§';

          // TODO(ana): move server-side before launch
          static const String secretKey =
              '§s§';

          static const String merchantCountryCode = 'DE';
          static const String merchantDisplayName = 'Kaffeeklatsch GmbH';
          static const bool applePayEnabled = true;
        }
        """, pk=pk, s=s), [(s, "Stripe live secret key")])

    g = glpat()
    C(F, "clojure", "src/release/gitlab.clj", T("""
        (ns release.gitlab
          (:require [clj-http.client :as http]
                    [cheshire.core :as json]))

        (def gitlab-url "https://gitlab.example.com/api/v4")
        (def private-token "§g§")

        (defn create-release! [project-id tag notes]
          (http/post (str gitlab-url "/projects/" project-id "/releases")
                     {:headers {"PRIVATE-TOKEN" private-token}
                      :content-type :json
                      :body (json/generate-string {:tag_name tag
                                                   :description notes})}))

        (defn -main [& [project tag]]
          (create-release! project tag (slurp "CHANGELOG.md")))
        """, g=g), [(g, "GitLab personal access token")])

    h = hf()
    C(F, "julia", "scripts/push_model.jl", T("""
        using HuggingFaceApi
        using JSON3

        ENV["HF_TOKEN"] = "§h§"

        const REPO = "acme-lab/flux-resnet18-cifar"

        function push(dir)
            for f in readdir(dir; join=true)
                @info "uploading" f
                HuggingFaceApi.upload_file(REPO, f; token=ENV["HF_TOKEN"])
            end
        end

        push(joinpath(@__DIR__, "..", "checkpoints", "final"))
        """, h=h), [(h, "Hugging Face token")])

    sg = sendgrid()
    C(F, "nim", "src/mailer.nim", T("""
        import std/[httpclient, json, strformat]

        const
          sendgridKey = "§sg§"
          fromAddr = "noreply@tidepool.example"

        proc sendMail*(to, subject, body: string) =
          let client = newHttpClient()
          client.headers = newHttpHeaders({
            "Authorization": &"Bearer {sendgridKey}",
            "Content-Type": "application/json"})
          let payload = %*{
            "personalizations": [{"to": [{"email": to}]}],
            "from": {"email": fromAddr},
            "subject": subject,
            "content": [{"type": "text/plain", "value": body}]}
          discard client.postContent("https://api.sendgrid.com/v3/mail/send", $payload)
        """, sg=sg), [(sg, "SendGrid API key")])

    sh = shopify()
    C(F, "perl", "bin/sync_inventory.pl", T("""
        #!/usr/bin/env perl
        use strict;
        use warnings;
        use LWP::UserAgent;
        use JSON::PP qw(decode_json);

        my $shop  = 'north-pole-outfitters.myshopify.com';
        my $token = '§sh§';

        my $ua = LWP::UserAgent->new(timeout => 20);
        $ua->default_header('X-Shopify-Access-Token' => $token);

        my $res = $ua->get("https://$shop/admin/api/2024-01/inventory_levels.json?location_ids=7781");
        die $res->status_line unless $res->is_success;
        my $levels = decode_json($res->decoded_content)->{inventory_levels};
        printf "%s\\t%d\\n", $_->{inventory_item_id}, $_->{available} for @$levels;
        """, sh=sh), [(sh, "Shopify admin API access token")])

    d = do_token()
    C(F, "tfvars", "infra/envs/prod/terraform.tfvars", T("""
        region          = "fra1"
        cluster_name    = "prod-fra1"
        node_size       = "s-4vcpu-8gb"
        node_count      = 3
        do_token        = "§d§"
        domain          = "tidepool.example"
        enable_backups  = true
        tags            = ["prod", "terraform"]
        """, d=d), [(d, "DigitalOcean API token")])

    dp = doppler()
    C(F, "procfile", "Procfile", T("""
        web: DOPPLER_TOKEN=§dp§ doppler run -- bundle exec puma -C config/puma.rb
        worker: bundle exec sidekiq -C config/sidekiq.yml
        release: bundle exec rails db:migrate
        clock: bundle exec clockwork config/clock.rb
        """, dp=dp), [(dp, "Doppler service token")])

    n = npm()
    C(F, "buildkite", ".buildkite/pipeline.yml", T("""
        env:
          NODE_VERSION: "20"
          NPM_TOKEN: "§n§"

        steps:
          - label: ":npm: install"
            command: npm ci
            plugins:
              - docker#v5.9.0:
                  image: "node:20-bookworm"
                  environment:
                    - NPM_TOKEN
          - wait
          - label: ":rocket: publish"
            command: |
              echo "//registry.npmjs.org/:_authToken=$${NPM_TOKEN}" > .npmrc
              npm publish --access public
            branches: main
        """, n=n), [(n, "npm access token")])

    fg = gh_fine()
    C(F, "groovy", "build.gradle", T("""
        plugins {
            id 'java-library'
            id 'maven-publish'
        }

        group = 'io.acme.telemetry'
        version = '2.4.1'

        repositories {
            mavenCentral()
        }

        publishing {
            publications {
                gpr(MavenPublication) { from components.java }
            }
            repositories {
                maven {
                    name = 'GitHubPackages'
                    url = uri('https://maven.pkg.github.com/acme/telemetry-java')
                    credentials {
                        username = 'acme-ci'
                        password = '§fg§'
                    }
                }
            }
        }
        """, fg=fg), [(fg, "GitHub fine-grained PAT")])

    li = linear()
    C(F, "haskell", "app/Linear.hs", T("""
        {-# LANGUAGE OverloadedStrings #-}
        module Linear (createIssue) where

        import Network.HTTP.Simple
        import Data.Aeson (object, (.=))
        import qualified Data.ByteString.Char8 as BS

        apiKey :: BS.ByteString
        apiKey = "§li§"

        createIssue :: String -> IO ()
        createIssue title = do
          let body = object ["query" .= ("mutation { issueCreate(input: {title: \\"" ++ title ++ "\\", teamId: \\"ENG\\"}) { success } }")]
              req = setRequestHeader "Authorization" [apiKey]
                  $ setRequestBodyJSON body
                  $ parseRequest_ "POST https://api.linear.app/graphql"
          resp <- httpLBS req
          print (getResponseStatusCode resp)
        """, li=li), [(li, "Linear API key")])

    t2 = gh("ghp")
    C(F, "markdown", "notes/ci-troubleshooting.md", T("""
        # CI troubleshooting log

        ## 2024-03-11 — release job fails with 401

        The `gh release upload` step started failing after the org enabled SSO.
        Reproduced locally with:

        ```console
        $ GH_TOKEN=§t§ gh api /repos/acme/widget/releases/latest
        {
          "message": "Resource protected by organization SAML enforcement.",
          "documentation_url": "https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/"
        }
        ```

        Fix: authorize the token for SSO under *Settings → Developer settings*.
        """, t=t2), [(t2, "GitHub classic PAT pasted in notes")])

    an = anthropic()
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Summarise support tickets\n", "Quick exploration, not for prod."]},
            {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
             "source": ["import os\n", "import anthropic\n", "import pandas as pd\n", "\n",
                        f"os.environ[\"ANTHROPIC_API_KEY\"] = \"{an}\"\n",
                        "client = anthropic.Anthropic()"]},
            {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [
                {"name": "stdout", "output_type": "stream", "text": ["1243 tickets loaded\n"]}],
             "source": ["df = pd.read_parquet(\"tickets.parquet\")\n", "print(len(df), \"tickets loaded\")"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python", "version": "3.11.6"}},
        "nbformat": 4, "nbformat_minor": 5}
    C(F, "ipynb", "notebooks/ticket_summaries.ipynb", json.dumps(nb, indent=1) + "\n", [(an, "Anthropic API key")])

    # ---- hard negatives ----
    C(F, "github-actions", ".github/workflows/publish.yml", T("""
        name: publish
        on:
          push:
            tags: ["v*"]
        permissions:
          contents: write
          packages: write
        jobs:
          publish:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@v4
                with:
                  node-version: 20
                  registry-url: https://registry.npmjs.org
              - run: npm ci && npm publish --provenance
                env:
                  # token must look like npm_xxxxxxxx...; stored as an org secret
                  NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
              - run: gh release create "$GITHUB_REF_NAME" --generate-notes
                env:
                  GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
        """))

    bad = gh_badcrc("ghp")
    C(F, "python", "tests/test_token_format.py", T("""
        import pytest

        from tokcheck import classify, checksum_ok

        # Generated in the test, checksum deliberately wrong.
        BAD_CHECKSUM = "§bad§"


        def test_rejects_bad_checksum():
            assert not checksum_ok(BAD_CHECKSUM)


        @pytest.mark.parametrize("prefix", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])
        def test_prefixes_known(prefix):
            assert classify(prefix + "0" * 36) == "github"


        def test_unknown():
            assert classify("hello_world") is None
        """, bad=bad))

    C(F, "toml", "config/token-rules.toml", T("""
        # detection rules for the internal log scrubber
        [[rule]]
        id = "github-pat"
        regex = '''\\b(ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}\\b'''
        keywords = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]

        [[rule]]
        id = "slack-bot"
        regex = '''xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}'''
        keywords = ["xoxb-"]

        [[rule]]
        id = "stripe-live"
        regex = '''(sk|rk)_live_[0-9a-zA-Z]{24,99}'''
        keywords = ["sk_live_", "rk_live_"]

        [[rule]]
        id = "openai"
        regex = '''sk-(proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}'''
        """))

    C(F, "markdown", "docs/setup/openai.md", T("""
        # Configuring the OpenAI backend

        1. Create a project key at <https://platform.openai.com/api-keys>.
           Keys start with `sk-proj-`.
        2. Export it in your shell — never commit it:

           ```bash
           export OPENAI_API_KEY="sk-proj-...your-key-here..."
           ```

        3. Optionally pin the organisation:

           ```bash
           export OPENAI_ORG_ID="org-XXXXXXXXXXXXXXXXXXXXXXXX"
           ```

        If you see `401 Incorrect API key provided: sk-proj-****abcd`, the key was
        revoked or copied with a trailing newline.
        """))

    C(F, "log", "logs/deploy-2024-05-02.log", T("""
        2024-05-02T09:14:02Z INFO  deploy starting sha=9f1c2e7 env=prod
        2024-05-02T09:14:02Z INFO  using GH_TOKEN=ghp_************************************ (masked)
        2024-05-02T09:14:03Z INFO  npm token npm_****************************7Qx2 scope=@acme
        2024-05-02T09:14:05Z INFO  pulled 14 artifacts from ghcr.io/acme
        2024-05-02T09:14:09Z WARN  retrying upload (attempt 2/5)
        2024-05-02T09:14:12Z INFO  stripe key configured: sk_live_…redacted…
        2024-05-02T09:14:13Z INFO  migrations: 3 pending
        2024-05-02T09:14:20Z INFO  migrations applied
        2024-05-02T09:14:31Z INFO  health check ok (200) in 184ms
        2024-05-02T09:14:31Z INFO  deploy finished in 29.4s
        """))

    C(F, "go", "internal/scrub/prefixes.go", T("""
        package scrub

        // knownPrefixes lists vendor token prefixes we redact from logs.
        var knownPrefixes = []string{
        	"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
        	"glpat-", "xoxb-", "xoxp-", "sk_live_", "rk_live_",
        	"sk-proj-", "sk-ant-api03-", "npm_", "pypi-", "hf_",
        	"shpat_", "dop_v1_", "SG.",
        }

        // Redact replaces the tail of any token that starts with a known prefix.
        func Redact(s string) string {
        	for _, p := range knownPrefixes {
        		s = redactAfter(s, p, 4)
        	}
        	return s
        }
        """))


# =====================================================================
# private-key
# =====================================================================

def indent(s, n):
    return "\n".join((" " * n + l) if l else l for l in s.split("\n"))


def fam_private():
    F = "private-key"
    k = openssh_ed25519("deploy@gitlab-runner-03")
    C(F, "openssh-private-key", "ops/keys/id_ed25519_deploy", k + "\n", [(k, "OpenSSH ed25519 private key")])

    k = pem("PRIVATE KEY", rsa_pkcs8())
    C(F, "pem", "certs/api.internal.example.key", k + "\n", [(k, "PKCS#8 RSA private key")])

    k = pem("EC PRIVATE KEY", ec_sec1())
    C(F, "pem", "nginx/ssl/shop.example.org.key", "# issued 2024-02-03, renew via certbot-dns\n" + k + "\n",
      [(k, "EC private key (SEC1)")])

    k = pem("RSA PRIVATE KEY", rsa_pkcs1())
    crt = cert_pem()
    C(F, "k8s-yaml", "k8s/ingress/tls-secret.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: wildcard-example-tls
          namespace: ingress-nginx
          labels:
            app.kubernetes.io/managed-by: manual
        type: kubernetes.io/tls
        stringData:
          tls.crt: |
        §crt§
          tls.key: |
        §k§
        """, crt=indent(crt, 4), k=indent(k, 4)), [(k.split("\n")[0], "RSA private key in k8s TLS Secret")])

    k = openssh_rsa("ansible@bastion")
    C(F, "ansible-yaml", "inventories/prod/group_vars/all/deploy.yml", T("""
        ---
        deploy_user: deploy
        deploy_home: /srv/deploy
        deploy_repo: git@git.example.com:platform/site.git
        deploy_version: "{{ lookup('env', 'DEPLOY_VERSION') | default('main', true) }}"
        deploy_key_path: "{{ deploy_home }}/.ssh/id_rsa"
        deploy_ssh_key: |
        §k§
        known_hosts_entries:
          - "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        """, k=indent(k, 2)), [(k.split("\n")[0], "OpenSSH RSA private key in Ansible vars")])

    k = pem("RSA PRIVATE KEY", rsa_pkcs1())
    C(F, "terraform-hcl", "terraform/modules/bastion/main.tf", T("""
        resource "aws_instance" "bastion" {
          ami                    = var.ami_id
          instance_type          = "t3.micro"
          subnet_id              = var.public_subnet_id
          vpc_security_group_ids = [aws_security_group.bastion.id]
          key_name               = "bastion-2023"

          provisioner "remote-exec" {
            inline = ["sudo apt-get update", "sudo apt-get install -y fail2ban"]

            connection {
              type        = "ssh"
              user        = "ubuntu"
              host        = self.public_ip
              private_key = <<-EOT
        §k§
              EOT
            }
          }
        }
        """, k=indent(k, 6)), [(k.split("\n")[0], "RSA private key in Terraform heredoc")])

    k = pem("RSA PRIVATE KEY", rsa_pkcs1())
    C(F, "go", "internal/auth/keys.go", T("""
        package auth

        import (
        	"crypto/rsa"

        	"github.com/golang-jwt/jwt/v5"
        )

        // signingKeyPEM is used to sign session JWTs.
        var signingKeyPEM = []byte(`§k§`)

        func loadSigningKey() (*rsa.PrivateKey, error) {
        	return jwt.ParseRSAPrivateKeyFromPEM(signingKeyPEM)
        }
        """, k=k), [(k.split("\n")[0], "RSA private key in Go source")])

    k = pgp_block("PRIVATE KEY BLOCK", 1800)
    C(F, "pgp-asc", "release/signing/release-signing-secret.asc", k + "\n", [(k, "PGP private key block")])

    k = pem("PRIVATE KEY", rsa_pkcs8())
    esc = k.replace("\n", "\\n")
    C(F, "dotenv", ".env.production", T("""
        NODE_ENV=production
        PORT=8080
        LOG_LEVEL=info
        FIREBASE_PROJECT_ID=hearth-prod
        FIREBASE_CLIENT_EMAIL=firebase-adminsdk-x1q9z@hearth-prod.iam.gserviceaccount.com
        FIREBASE_PRIVATE_KEY="§esc§"
        REDIS_HOST=10.20.0.7
        FEATURE_FLAGS=search,export
        SENTRY_ENVIRONMENT=production
        """, esc=esc), [(esc, "PKCS#8 key with escaped newlines in .env")])

    k = pem("PRIVATE KEY", ec_p8())
    esc = k.replace("\n", "\\n")
    C(F, "json", "fastlane/app_store_connect_api_key.json", T("""
        {
          "key_id": "§kid§",
          "issuer_id": "§iss§",
          "key": "§esc§",
          "duration": 1200,
          "in_house": false
        }
        """, kid=upd(10), iss=uuid4(), esc=esc), [(esc, "App Store Connect .p8 key (EC)")])

    k = pem("RSA PRIVATE KEY", rsa_pkcs1())
    C(F, "markdown", "runbooks/legacy-sftp.md", T("""
        # Legacy SFTP partner feed

        The partner (Northwind) pulls nightly exports from `sftp.example.net`.
        They only support RSA keys, so we keep a dedicated key for them.

        ## Connecting manually

        Save the key below as `~/.ssh/northwind_rsa` (mode 600) and run:

        ```
        sftp -i ~/.ssh/northwind_rsa -P 2222 northwind@sftp.example.net
        ```

        ```
        §k§
        ```

        Rotate yearly; last rotation 2023-11.
        """, k=k), [(k, "RSA private key pasted in runbook")])

    k = pem("RSA PRIVATE KEY", rsa_pkcs1())
    esc = k.replace("\n", "\\n")
    C(F, "chef-json", "data_bags/ssh/deployer.json", T("""
        {
          "id": "deployer",
          "user": "deployer",
          "shell": "/bin/bash",
          "authorized_keys": [
            "§pub§"
          ],
          "private_key": "§esc§",
          "groups": ["deploy", "www-data"]
        }
        """, pub=ssh_rsa_pub("deployer@chef"), esc=esc), [(esc, "RSA private key in Chef data bag")])

    # ---- hard negatives ----
    enc = pem("ENCRYPTED PRIVATE KEY", b"\x30\x82\x05\x0c\x30\x3e\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0d" + rbytes(1280))
    C(F, "pem", "certs/legacy-client.enc.key", T("""
        # encrypted with AES-256-CBC (PBES2); passphrase lives in 1Password: "legacy client key"
        §enc§
        """, enc=enc))

    C(F, "markdown", "docs/ssh-access.md", T("""
        # Requesting SSH access

        Generate a key pair on your laptop:

        ```bash
        ssh-keygen -t ed25519 -C "you@example.com" -f ~/.ssh/id_ed25519
        ```

        Your private key looks like this — **never** share it:

        ```
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAA...
        ...
        -----END OPENSSH PRIVATE KEY-----
        ```

        Only send the `.pub` file to #infra-access. Access is granted within a day.
        """))

    C(F, "python", "tools/keyscan.py", T("""
        import re
        import sys

        PEM_RE = re.compile(
            r"-----BEGIN (RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"
            r"[\\s\\S]+?-----END \\1?PRIVATE KEY-----"
        )


        def find_keys(path):
            with open(path, encoding="utf-8", errors="replace") as fh:
                data = fh.read()
            for m in PEM_RE.finditer(data):
                yield m.start(), m.group(1) or "PKCS8"


        if __name__ == "__main__":
            for p in sys.argv[1:]:
                for off, kind in find_keys(p):
                    print(f"{p}:{off}: {kind} private key")
        """))

    encval = "ENC[AES256_GCM,data:" + b64(rbytes(1200)) + ",iv:" + b64(rbytes(32)) + ",tag:" + b64(rbytes(16)) + ",type:str]"
    C(F, "sops-yaml", "clusters/prod/tls/origin-cert.sops.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
            name: origin-cert
            namespace: web
        type: kubernetes.io/tls
        stringData:
            tls.crt: §c§
            tls.key: §k§
        sops:
            age:
                - recipient: age1§r§
                  enc: |
                    -----BEGIN AGE ENCRYPTED FILE-----
                    §a1§
                    §a2§
                    -----END AGE ENCRYPTED FILE-----
            lastmodified: "2024-04-18T08:12:44Z"
            mac: ENC[AES256_GCM,data:§mac§,iv:§iv§,tag:§tag§,type:str]
            encrypted_regex: ^(data|stringData)$
            version: 3.8.1
        """, c="ENC[AES256_GCM,data:" + b64(rbytes(900)) + ",iv:" + b64(rbytes(32)) + ",tag:" + b64(rbytes(16)) + ",type:str]",
        k=encval, r=rs("023456789acdefghjklmnpqrstuvwxyz", 58), a1=b64(rbytes(48)), a2=b64(rbytes(45)),
        mac=b64(rbytes(64)), iv=b64(rbytes(32)), tag=b64(rbytes(16))))

    C(F, "go", "internal/sshx/client_test.go", T("""
        package sshx

        import (
        	"os"
        	"path/filepath"
        	"testing"

        	"golang.org/x/crypto/ssh"
        )

        func TestParseKey(t *testing.T) {
        	// keys are generated by `go generate ./...` into testdata/ and git-ignored
        	raw, err := os.ReadFile(filepath.Join("testdata", "id_ed25519"))
        	if err != nil {
        		t.Skip("run go generate first")
        	}
        	if _, err := ssh.ParseRawPrivateKey(raw); err != nil {
        		t.Fatal(err)
        	}
        }
        """))


# =====================================================================
# cloud-credentials
# =====================================================================

def fam_cloud():
    F = "cloud-credentials"
    i1, s1, i2, s2 = aws_id(), aws_secret(), aws_id(), aws_secret()
    C(F, "aws-credentials-ini", "infra/bootstrap/aws/credentials", T("""
        [default]
        aws_access_key_id = §i1§
        aws_secret_access_key = §s1§
        region = eu-central-1

        [billing-readonly]
        aws_access_key_id=§i2§
        aws_secret_access_key=§s2§
        output = json

        [prod-admin]
        role_arn = arn:aws:iam::§acct§:role/OrganizationAccountAccessRole
        source_profile = default
        mfa_serial = arn:aws:iam::§acct2§:mfa/jdoe
        """, i1=i1, s1=s1, i2=i2, s2=s2, acct=dig(12), acct2=dig(12)),
      [(s1, "AWS secret access key"), (s2, "AWS secret access key")])

    i, s = aws_id(), aws_secret()
    C(F, "csv", "handover/ci-uploader_accessKeys.csv", T("""
        Access key ID,Secret access key
        §i§,§s§
        """, i=i, s=s) + "\n".join([""] * 1), [(s, "AWS secret key in IAM CSV export (no keyword on line)")])

    i, s, st = aws_id("ASIA"), aws_secret(), aws_session()
    C(F, "shell-history", "home/jdoe/.bash_history", T("""
        cd ~/src/payments
        git pull --rebase
        aws sso login --profile payments-dev
        aws sts get-caller-identity
        export AWS_ACCESS_KEY_ID=§i§
        export AWS_SECRET_ACCESS_KEY=§s§
        export AWS_SESSION_TOKEN=§st§
        aws s3 ls s3://payments-dev-artifacts/ --recursive | tail
        terraform -chdir=infra plan -out tf.plan
        unset AWS_SESSION_TOKEN
        history | grep kubectl
        kubectl -n payments get pods
        """, i=i, s=s, st=st), [(s, "AWS secret access key"), (st, "AWS session token")])

    i, s = aws_id(), aws_secret()
    C(F, "scala", "jobs/src/main/scala/etl/S3Ingest.scala", T("""
        package etl

        import org.apache.spark.sql.SparkSession

        object S3Ingest {
          def main(args: Array[String]): Unit = {
            val spark = SparkSession.builder().appName("s3-ingest").getOrCreate()
            val hc = spark.sparkContext.hadoopConfiguration
            hc.set("fs.s3a.access.key", "§i§")
            hc.set("fs.s3a.secret.key", "§s§")
            hc.set("fs.s3a.endpoint", "s3.eu-west-1.amazonaws.com")

            val df = spark.read.parquet("s3a://acme-raw/events/dt=" + args(0))
            df.groupBy("event_type").count().write.mode("overwrite").parquet("s3a://acme-curated/counts/dt=" + args(0))
            spark.stop()
          }
        }
        """, i=i, s=s), [(s, "AWS secret key (Spark s3a)")])

    i, s = aws_id(), aws_secret()
    C(F, "julia", "src/Storage.jl", T("""
        module Storage

        using AWS
        using AWSS3

        # service account for the model-artifacts bucket
        const CREDS = AWSCredentials("§i§", "§s§")
        const CFG = global_aws_config(; region="us-west-2", creds=CREDS)

        function put_artifact(key::String, bytes::Vector{UInt8})
            s3_put(CFG, "ml-artifacts-prod", key, bytes)
        end

        function get_artifact(key::String)
            s3_get(CFG, "ml-artifacts-prod", key)
        end

        end # module
        """, i=i, s=s), [(s, "AWS secret key passed positionally")])

    ak = azure_storage_key()
    C(F, "json", "src/Functions/local.settings.json", T("""
        {
          "IsEncrypted": false,
          "Values": {
            "AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=stinvoicesprod01;AccountKey=§ak§;EndpointSuffix=core.windows.net",
            "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
            "InvoiceQueueName": "invoices-inbound",
            "APPINSIGHTS_INSTRUMENTATIONKEY": "§ik§"
          },
          "Host": {
            "LocalHttpPort": 7071,
            "CORS": "*"
          }
        }
        """, ak=ak, ik=uuid4()), [(ak, "Azure storage account key")])

    cs = azure_client_secret()
    C(F, "json", "src/Web/appsettings.Production.json", T("""
        {
          "Logging": {
            "LogLevel": { "Default": "Warning", "Microsoft.AspNetCore": "Warning" }
          },
          "AzureAd": {
            "Instance": "https://login.microsoftonline.com/",
            "TenantId": "§tid§",
            "ClientId": "§cid§",
            "ClientSecret": "§cs§",
            "CallbackPath": "/signin-oidc"
          },
          "AllowedHosts": "*"
        }
        """, tid=uuid4(), cid=uuid4(), cs=cs), [(cs, "Azure AD (Entra) client secret")])

    k = pem("PRIVATE KEY", rsa_pkcs8())
    esc = k.replace("\n", "\\n")
    C(F, "gcp-sa-json", "deploy/gcp/bq-loader-sa.json", T("""
        {
          "type": "service_account",
          "project_id": "acme-analytics-prod",
          "private_key_id": "§pkid§",
          "private_key": "§esc§",
          "client_email": "bq-loader@acme-analytics-prod.iam.gserviceaccount.com",
          "client_id": "§cid§",
          "auth_uri": "https://accounts.google.com/o/oauth2/auth",
          "token_uri": "https://oauth2.googleapis.com/token",
          "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
          "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/bq-loader%40acme-analytics-prod.iam.gserviceaccount.com",
          "universe_domain": "googleapis.com"
        }
        """, pkid=hx(40), esc=esc, cid=dig(21)), [(esc, "GCP service-account private key")])

    sig = b64(rbytes(32)).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    sas = f"?sv=2022-11-02&ss=b&srt=co&sp=rwdlacupiytfx&se=2026-12-31T23:59:59Z&st=2024-01-01T00:00:00Z&spr=https&sig={sig}"
    C(F, "arm-json", "infra/arm/backup.parameters.json", T("""
        {
          "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
          "contentVersion": "1.0.0.0",
          "parameters": {
            "location": { "value": "westeurope" },
            "vaultName": { "value": "rsv-backup-weu" },
            "archiveContainerUrl": { "value": "https://stbackupweu.blob.core.windows.net/archive" },
            "archiveSasToken": { "value": "§sas§" },
            "retentionDays": { "value": 35 }
          }
        }
        """, sas=sas), [(sas, "Azure SAS token (account SAS with signature)")])

    i, s = aws_id(), aws_secret()
    C(F, "cloudformation-yaml", "cfn/thumbnailer.yaml", T("""
        AWSTemplateFormatVersion: "2010-09-09"
        Description: Thumbnail generator
        Resources:
          ThumbnailFunction:
            Type: AWS::Lambda::Function
            Properties:
              Runtime: python3.12
              Handler: app.handler
              Role: !GetAtt ThumbnailRole.Arn
              Timeout: 30
              Code:
                S3Bucket: acme-lambda-artifacts
                S3Key: thumbnailer/1.8.0.zip
              Environment:
                Variables:
                  LEGACY_BUCKET: acme-legacy-media
                  LEGACY_ACCESS_KEY_ID: §i§
                  LEGACY_SECRET_ACCESS_KEY: §s§
          ThumbnailRole:
            Type: AWS::IAM::Role
            Properties:
              AssumeRolePolicyDocument:
                Version: "2012-10-17"
                Statement:
                  - Effect: Allow
                    Principal: { Service: lambda.amazonaws.com }
                    Action: sts:AssumeRole
        """, i=i, s=s), [(s, "AWS secret key in CloudFormation env")])

    i, s = aws_id(), aws_secret()
    C(F, "groovy", "Jenkinsfile", T("""
        pipeline {
            agent { label 'docker' }
            options { timestamps() }
            stages {
                stage('Build') {
                    steps { sh './gradlew clean build -x test' }
                }
                stage('Upload') {
                    steps {
                        withEnv(["AWS_ACCESS_KEY_ID=§i§",
                                 "AWS_SECRET_ACCESS_KEY=§s§",
                                 "AWS_DEFAULT_REGION=us-east-1"]) {
                            sh 'aws s3 cp build/libs/ s3://acme-releases/app/ --recursive'
                        }
                    }
                }
            }
            post { always { junit 'build/test-results/**/*.xml' } }
        }
        """, i=i, s=s), [(s, "AWS secret key in Jenkinsfile withEnv")])

    i, s = aws_id(), aws_secret()
    C(F, "objective-c", "PhotoSync/PSUploadManager.m", T("""
        #import "PSUploadManager.h"
        #import <AWSS3/AWSS3.h>

        @implementation PSUploadManager

        + (void)configure {
            AWSStaticCredentialsProvider *creds =
                [[AWSStaticCredentialsProvider alloc] initWithAccessKey:@"§i§"
                                                              secretKey:@"§s§"];
            AWSServiceConfiguration *cfg =
                [[AWSServiceConfiguration alloc] initWithRegion:AWSRegionEUWest1
                                            credentialsProvider:creds];
            [AWSServiceManager defaultServiceManager].defaultServiceConfiguration = cfg;
        }

        - (void)uploadFileAtURL:(NSURL *)url key:(NSString *)key {
            AWSS3TransferUtility *tu = [AWSS3TransferUtility defaultS3TransferUtility];
            [tu uploadFile:url bucket:@"photosync-user-media" key:key contentType:@"image/jpeg"
                expression:nil completionHandler:nil];
        }

        @end
        """, i=i, s=s), [(s, "AWS secret key in Objective-C")])

    s = aws_secret()
    C(F, "python", "scripts/restore_snapshot.py", T("""
        import boto3

        # restore account (old, pre-SSO)
        session = boto3.session.Session(
            "§i§",
            "§s§",
            region_name="ap-southeast-2",
        )
        rds = session.client("rds")

        resp = rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="orders-restore-test",
            DBSnapshotIdentifier="rds:orders-prod-2024-06-01-18-10",
            DBInstanceClass="db.t3.medium",
        )
        print(resp["DBInstance"]["DBInstanceStatus"])
        """, i=aws_id(), s=s), [(s, "AWS secret key as positional arg")])

    # ---- hard negatives ----
    C(F, "markdown", "docs/dev/aws-cli.md", T("""
        # Using the AWS CLI locally

        Run `aws configure` and paste your credentials. The result in
        `~/.aws/credentials` looks like this (values from the AWS docs):

        ```ini
        [default]
        aws_access_key_id = AKIAIOSFODNN7EXAMPLE
        aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        ```

        Prefer SSO: `aws configure sso` and then `aws sso login --profile dev`.
        Never create long-lived keys for humans.
        """))

    C(F, "json", "audit/cloudtrail-sample.json", T("""
        {
          "eventVersion": "1.08",
          "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDA§pid§",
            "arn": "arn:aws:iam::§acct§:user/ci-uploader",
            "accountId": "§acct§",
            "accessKeyId": "§akid§",
            "userName": "ci-uploader"
          },
          "eventTime": "2024-06-03T11:42:07Z",
          "eventSource": "s3.amazonaws.com",
          "eventName": "PutObject",
          "awsRegion": "eu-central-1",
          "sourceIPAddress": "203.0.113.24",
          "requestID": "§rid§",
          "eventID": "§eid§",
          "additionalEventData": { "x-amz-id-2": "§amzid§" }
        }
        """, pid=upd(17), acct=dig(12), akid=aws_id(), rid=upd(16), eid=uuid4(), amzid=b64c(76)))

    C(F, "json", "src/Functions/local.settings.Development.json", T("""
        {
          "IsEncrypted": false,
          "Values": {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "FUNCTIONS_WORKER_RUNTIME": "node",
            "BlobConn": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
            "QueueName": "jobs-local"
          },
          "Host": {
            "LocalHttpPort": 7072
          }
        }
        """))

    C(F, "gcp-sa-json", "deploy/gcp/wif-github.json", T("""
        {
          "type": "external_account",
          "audience": "//iam.googleapis.com/projects/§pn§/locations/global/workloadIdentityPools/github/providers/github-oidc",
          "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
          "token_url": "https://sts.googleapis.com/v1/token",
          "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/deployer@acme-prod.iam.gserviceaccount.com:generateAccessToken",
          "credential_source": {
            "url": "https://pipelines.actions.githubusercontent.com/oidc/token",
            "headers": { "Authorization": "Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" },
            "format": { "type": "json", "subject_token_field_name": "value" }
          }
        }
        """, pn=dig(12)))

    C(F, "terraform-hcl", "infra/modules/app/iam.tf", T("""
        data "aws_secretsmanager_secret_version" "db" {
          secret_id = "prod/app/db"
        }

        resource "aws_iam_role" "app" {
          name               = "app-irsa"
          assume_role_policy = data.aws_iam_policy_document.irsa.json
        }

        resource "kubernetes_service_account" "app" {
          metadata {
            name      = "app"
            namespace = "app"
            annotations = {
              "eks.amazonaws.com/role-arn" = aws_iam_role.app.arn
            }
          }
        }

        locals {
          db_password = jsondecode(data.aws_secretsmanager_secret_version.db.secret_string)["password"]
        }
        """))


# =====================================================================
# credential-files
# =====================================================================

def fam_credfiles():
    F = "credential-files"
    hk, g = uuid4(), gh("ghp")
    C(F, "netrc", "dotfiles/.netrc", T("""
        machine api.heroku.com
          login ops@tidepool.example
          password §hk§
        machine git.heroku.com
          login ops@tidepool.example
          password §hk§
        machine github.com
          login tidepool-bot
          password §g§
        machine ftp.gnu.org
          login anonymous
          password guest@
        """, hk=hk, g=g), [(hk, "Heroku API key (UUID-shaped)"), (g, "GitHub PAT in .netrc")])

    p1 = pw_plain(22)
    C(F, "pgpass", "ops/db/.pgpass", T("""
        # hostname:port:database:username:password
        # chmod 600 this file or libpq ignores it
        localhost:5432:*:postgres:postgres
        pg-primary.prod.internal:5432:orders:orders_rw:§p1§
        pg-replica-1.prod.internal:5432:orders:orders_ro:§p2§
        pg-replica-2.prod.internal:5432:orders:orders_ro:§p2§
        """, p1=p1, p2=(p2 := pw_plain(18))),
      [(p1, "Postgres password"), (p2, "Postgres password")])

    n = npm()
    C(F, "npmrc", ".npmrc", T("""
        registry=https://registry.npmjs.org/
        @acme:registry=https://npm.pkg.github.com/
        //npm.pkg.github.com/:_authToken=${GITHUB_PACKAGES_TOKEN}
        //registry.npmjs.org/:_authToken=§n§
        always-auth=false
        save-exact=true
        engine-strict=true
        fund=false
        audit-level=high
        """, n=n), [(n, "npm token in .npmrc")])

    p = pypi()
    C(F, "pypirc", "release/.pypirc", T("""
        [distutils]
        index-servers =
            pypi
            testpypi
            internal

        [pypi]
        username = __token__
        password = §p§

        [testpypi]
        repository = https://test.pypi.org/legacy/
        username = __token__
        password = ${TEST_PYPI_TOKEN}

        [internal]
        repository = https://pypi.internal.example/simple/
        username = release-bot
        """, p=p), [(p, "PyPI API token")])

    up = pw()
    auth = b64(f"ci-robot:{up}".encode())
    C(F, "docker-config-json", "ci/docker/config.json", T("""
        {
          "auths": {
            "registry.gitlab.example.com": {
              "auth": "§auth§"
            },
            "https://index.docker.io/v1/": {}
          },
          "credHelpers": {
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"
          },
          "HttpHeaders": {
            "User-Agent": "Docker-Client/24.0.7 (linux)"
          }
        }
        """, auth=auth), [(auth, "base64 user:password registry auth")])

    kd = b64(pem("RSA PRIVATE KEY", rsa_pkcs1()).encode())
    C(F, "kubeconfig", "clusters/edge-01/kubeconfig.yaml", T("""
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: §ca§
            server: https://10.40.0.10:6443
          name: edge-01
        contexts:
        - context:
            cluster: edge-01
            user: admin@edge-01
          name: admin@edge-01
        current-context: admin@edge-01
        users:
        - name: admin@edge-01
          user:
            client-certificate-data: §cc§
            client-key-data: §kd§
        """, ca=b64(cert_pem().encode()), cc=b64(cert_pem().encode()), kd=kd), [(kd, "base64 client private key in kubeconfig")])

    g = gh("ghp")
    u = pw_plain(24)
    C(F, "git-credentials", "home/builder/.git-credentials", T("""
        https://tidepool-bot:§g§@github.com
        https://builder:§u§@git.internal.example
        https://gitlab-ci-token:$CI_JOB_TOKEN@gitlab.example.com
        """, g=g, u=u) + "", [(g, "GitHub PAT in .git-credentials"), (u, "password in .git-credentials")])

    ak, sk, ob = "DO00" + upd(16), b64c(43), b64u(R.randint(40, 60))
    C(F, "rclone-conf", "backup/rclone.conf", T("""
        [spaces]
        type = s3
        provider = DigitalOcean
        env_auth = false
        access_key_id = §ak§
        secret_access_key = §sk§
        endpoint = ams3.digitaloceanspaces.com
        acl = private

        [nas]
        type = sftp
        host = nas.home.arpa
        user = backup
        pass = §ob§
        shell_type = unix
        md5sum_command = md5sum

        [crypt-spaces]
        type = crypt
        remote = spaces:photos-backup
        """, ak=ak, sk=sk, ob=ob),
      [(sk, "DigitalOcean Spaces secret key"), (ob, "rclone obscured (reversible) password")])

    sk = aws_secret()
    C(F, "s3cfg", "ops/.s3cfg", T("""
        [default]
        access_key = §ak§
        secret_key = §sk§
        bucket_location = EU
        host_base = s3.amazonaws.com
        host_bucket = %(bucket)s.s3.amazonaws.com
        use_https = True
        signature_v2 = False
        check_ssl_certificate = True
        multipart_chunk_size_mb = 64
        """, ak=aws_id(), sk=sk), [(sk, "AWS secret key in s3cmd config")])

    p1, p2 = pw(), pw()
    C(F, "maven-settings-xml", "ci/maven/settings.xml", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <settings xmlns="http://maven.apache.org/SETTINGS/1.2.0"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xsi:schemaLocation="http://maven.apache.org/SETTINGS/1.2.0 https://maven.apache.org/xsd/settings-1.2.0.xsd">
          <servers>
            <server>
              <id>nexus-releases</id>
              <username>deployment</username>
              <password>§p1§</password>
            </server>
            <server>
              <id>nexus-snapshots</id>
              <username>deployment</username>
              <password>§p2§</password>
            </server>
          </servers>
          <mirrors>
            <mirror>
              <id>nexus</id>
              <mirrorOf>*</mirrorOf>
              <url>https://nexus.example.com/repository/maven-public/</url>
            </mirror>
          </mirrors>
        </settings>
        """, p1=p1.replace("&", "x").replace("<", "y"), p2=p2.replace("&", "x").replace("<", "y")),
      [(p1.replace("&", "x").replace("<", "y"), "Maven repository password"), (p2.replace("&", "x").replace("<", "y"), "Maven repository password")])

    p1, p2 = pw(), pw()
    C(F, "java-properties", "gradle.properties", T("""
        org.gradle.jvmargs=-Xmx3g -Dfile.encoding=UTF-8
        org.gradle.parallel=true
        org.gradle.caching=true
        android.useAndroidX=true
        kotlin.code.style=official

        # Sonatype OSSRH
        ossrhUsername=acme-release
        ossrhPassword=§p1§

        # signing
        signing.keyId=§kid§
        signing.password=§p2§
        signing.secretKeyRingFile=/home/ci/.gnupg/secring.gpg
        """, p1=p1, p2=p2, kid=HX(8)), [(p1, "OSSRH password"), (p2, "GPG signing key passphrase")])

    g, hp = gh("gho"), pw()
    C(F, "json", "auth.json", T("""
        {
            "github-oauth": {
                "github.com": "§g§"
            },
            "http-basic": {
                "repo.packagist.com": {
                    "username": "token",
                    "password": "§hp§"
                }
            },
            "gitlab-domains": ["gitlab.example.com"]
        }
        """, g=g, hp=hp), [(g, "GitHub OAuth token (composer)"), (hp, "Private Packagist password")])

    g = gh("gho")
    C(F, "yaml", "home/dev/.config/gh/hosts.yml", T("""
        github.com:
            users:
                mvoss:
                    oauth_token: §g§
            git_protocol: ssh
            user: mvoss
            oauth_token: §g§
        github.example-corp.com:
            git_protocol: https
            user: mvoss
        """, g=g), [(g, "GitHub OAuth token in gh hosts.yml")])

    dbp = pw().replace("'", "")
    salts = [b64c(64).replace("'", "") for _ in range(8)]
    names = ["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"]
    saltlines = "\n".join(f"define( '{n}',{' ' * (17 - len(n))}'{v}' );" for n, v in zip(names, salts))
    C(F, "php", "public_html/wp-config.php", T("""
        <?php
        /** The name of the database for WordPress */
        define( 'DB_NAME', 'wp_blog' );
        define( 'DB_USER', 'wp_blog' );
        define( 'DB_PASSWORD', '§dbp§' );
        define( 'DB_HOST', 'mysql.internal:3306' );
        define( 'DB_CHARSET', 'utf8mb4' );
        define( 'DB_COLLATE', '' );

        §salts§

        $table_prefix = 'wp_';
        define( 'WP_DEBUG', false );

        if ( ! defined( 'ABSPATH' ) ) {
        	define( 'ABSPATH', __DIR__ . '/' );
        }
        require_once ABSPATH . 'wp-settings.php';
        """, dbp=dbp, salts=saltlines),
      [(dbp, "WordPress DB password")] + [(v, "WordPress auth key/salt") for v in salts])

    p = pw().replace("#", "x")
    C(F, "ini", "home/dba/.my.cnf", T("""
        [client]
        user=dba_admin
        password="§p§"
        host=mysql-prod-01.internal
        port=3306
        default-character-set=utf8mb4

        [mysqldump]
        single-transaction
        quick
        max_allowed_packet=512M
        """, p=p), [(p, "MySQL password in .my.cnf")])

    # ---- hard negatives ----
    C(F, "htpasswd", "nginx/.htpasswd", T("""
        admin:$2y$10$§h1§
        grafana:$apr1$§s2§$§h2§
        prometheus:$2y$05$§h3§
        alertmanager:{SHA}§h4§
        """, h1=rs(B62 + "./", 53), s2=b62(8), h2=rs(B62 + "./", 22), h3=rs(B62 + "./", 53), h4=b64(rbytes(20))) +
      "# generated with htpasswd -B; bcrypt/apr1 hashes only\n" * 1)

    C(F, "npmrc", "frontend/.npmrc", T("""
        @acme:registry=https://npm.pkg.github.com
        //npm.pkg.github.com/:_authToken=${NODE_AUTH_TOKEN}
        //registry.npmjs.org/:_authToken=${NPM_TOKEN}
        legacy-peer-deps=true
        save-exact=true
        strict-ssl=true
        progress=false
        loglevel=warn
        prefer-offline=true
        update-notifier=false
        """))

    C(F, "docker-config-json", "home/dev/.docker/config.json", T("""
        {
          "auths": {
            "ghcr.io": {},
            "https://index.docker.io/v1/": {},
            "registry.gitlab.example.com": {}
          },
          "credsStore": "desktop",
          "currentContext": "desktop-linux",
          "plugins": {
            "-x-cli-hints": { "enabled": "true" }
          },
          "features": { "hooks": "true" }
        }
        """))

    C(F, "pgpass", "dev/.pgpass", T("""
        # local docker-compose databases only
        localhost:5432:*:postgres:postgres
        127.0.0.1:5433:app_test:app:app
        localhost:5434:keycloak:keycloak:keycloak
        # production credentials come from `vault read database/creds/orders-ro`
        """))

    C(F, "maven-settings-xml", ".mvn/settings-ci.xml", T("""
        <settings xmlns="http://maven.apache.org/SETTINGS/1.2.0">
          <servers>
            <server>
              <id>github</id>
              <username>${env.GITHUB_ACTOR}</username>
              <password>${env.GITHUB_TOKEN}</password>
            </server>
            <server>
              <id>internal-nexus</id>
              <username>deploy</username>
              <!-- encrypted with mvn -ep, master in settings-security.xml -->
              <password>{§enc§}</password>
            </server>
          </servers>
        </settings>
        """, enc=b64(rbytes(33))))

    C(F, "kubeconfig", "clusters/prod-eks/kubeconfig.yaml", T("""
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: §ca§
            server: https://§h§.gr7.eu-west-1.eks.amazonaws.com
          name: prod-eks
        contexts:
        - context: {cluster: prod-eks, user: sso-admin}
          name: prod-eks
        current-context: prod-eks
        users:
        - name: sso-admin
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: aws
              args: ["eks", "get-token", "--cluster-name", "prod-eks", "--profile", "prod-admin"]
        """, ca=b64(cert_pem().encode()), h=HX(32)))


# =====================================================================
# command-line
# =====================================================================

def fam_cmdline():
    F = "command-line"
    p1, p2 = pw_plain(16), pw_plain(14)
    C(F, "shell-history", "home/ops/.bash_history", T("""
        ls -la /var/lib/mysql
        sudo systemctl status mysql
        mysql -u root -p§p1§ -e "SHOW PROCESSLIST"
        mysql -h db-replica-2 -u repl -p§p1§ -e "SHOW SLAVE STATUS\\G"
        tail -n 200 /var/log/mysql/error.log
        df -h
        redis-cli -h 10.0.3.14 -a §p2§ INFO replication
        vim /etc/mysql/mysql.conf.d/mysqld.cnf
        sudo systemctl restart mysql
        exit
        """, p1=p1, p2=p2), [(p1, "MySQL password on command line"), (p2, "Redis password (-a)")])

    p = pw_plain(20)
    C(F, "shell", "scripts/nightly_backup.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail

        STAMP=$(date +%Y%m%d-%H%M)
        OUT=/backups/pg/orders-$STAMP.dump

        PGPASSWORD='§p§' pg_dump \\
          --host=pg-primary.prod.internal \\
          --username=backup \\
          --format=custom \\
          --file="$OUT" \\
          orders

        gzip -9 "$OUT"
        find /backups/pg -name '*.dump.gz' -mtime +14 -delete
        echo "backup ok: $OUT.gz"
        """, p=p), [(p, "PGPASSWORD in backup script")])

    p = pw_plain(24)
    C(F, "makefile", "Makefile", T("""
        REGISTRY ?= registry.example.com
        IMAGE    ?= $(REGISTRY)/payments/api
        TAG      ?= $(shell git rev-parse --short HEAD)

        .PHONY: build push test

        build:
        	docker build -t $(IMAGE):$(TAG) .

        login:
        	docker login $(REGISTRY) -u ci-pusher -p §p§

        push: login build
        	docker push $(IMAGE):$(TAG)

        test:
        	go test ./... -race -count=1
        """, p=p), [(p, "registry password in docker login -p")])

    p = pw_plain(18)
    C(F, "crontab", "etc/cron.d/mysql-backup", T("""
        # /etc/cron.d/mysql-backup: nightly logical backups
        SHELL=/bin/bash
        PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
        MAILTO=dba@example.com

        # m h dom mon dow user  command
        15 2 * * * root mysqldump --all-databases --single-transaction --user=backup --password=§p§ | gzip > /srv/backup/mysql-$(date +\\%F).sql.gz
        45 3 * * * root find /srv/backup -name 'mysql-*.sql.gz' -mtime +10 -delete
        0 4 * * 0 root /usr/local/bin/verify-backups.sh >> /var/log/verify-backups.log 2>&1
        """, p=p), [(p, "mysqldump --password in cron")])

    p = pw_plain(16)
    C(F, "vagrantfile", "Vagrantfile", T("""
        # -*- mode: ruby -*-
        Vagrant.configure("2") do |config|
          config.vm.box = "ubuntu/jammy64"
          config.vm.hostname = "lamp-dev"
          config.vm.network "forwarded_port", guest: 80, host: 8080
          config.vm.network "private_network", ip: "192.168.56.20"

          config.vm.provider "virtualbox" do |vb|
            vb.memory = 2048
            vb.cpus = 2
          end

          config.vm.provision "shell", inline: <<-SHELL
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y apache2 mysql-server php libapache2-mod-php php-mysql
            mysqladmin -u root password '§p§'
            mysql -uroot -p'§p§' -e "CREATE DATABASE IF NOT EXISTS shop"
          SHELL
        end
        """, p=p), [(p, "MySQL root password in provisioner")])

    p = pw_plain(32)
    C(F, "supervisord-ini", "deploy/supervisor/conf.d/cache.conf", T("""
        [program:redis-cache]
        command=/usr/bin/redis-server /etc/redis/cache.conf --port 6380 --requirepass §p§ --maxmemory 2gb
        directory=/var/lib/redis-cache
        user=redis
        autostart=true
        autorestart=true
        stopsignal=TERM
        stdout_logfile=/var/log/supervisor/redis-cache.out.log
        stderr_logfile=/var/log/supervisor/redis-cache.err.log

        [program:celery-worker]
        command=/srv/app/venv/bin/celery -A app worker -l info -Q default,email
        directory=/srv/app
        user=app
        numprocs=1
        autorestart=true
        """, p=p), [(p, "Redis --requirepass in supervisord")])

    p = pw_plain(20)
    C(F, "systemd-unit", "deploy/systemd/ledger-api.service", T("""
        [Unit]
        Description=Ledger API
        After=network-online.target postgresql.service
        Wants=network-online.target

        [Service]
        Type=simple
        User=ledger
        Group=ledger
        WorkingDirectory=/opt/ledger
        ExecStart=/opt/ledger/bin/ledger-api --listen=:8443 --db-user=ledger --db-password=§p§ --tls-cert=/etc/ledger/tls.crt
        Restart=on-failure
        RestartSec=5
        LimitNOFILE=65536

        [Install]
        WantedBy=multi-user.target
        """, p=p), [(p, "--db-password in ExecStart")])

    p = pw_plain(18)
    C(F, "dockerfile", "docker/builder.Dockerfile", T("""
        FROM eclipse-temurin:21-jdk AS build
        WORKDIR /src
        COPY . .
        RUN curl -fsSL -u deploy:§p§ \\
              https://nexus.example.com/repository/raw-internal/tools/codegen-3.2.1.jar \\
              -o /opt/codegen.jar \\
         && java -jar /opt/codegen.jar --in api/ --out build/generated
        RUN ./gradlew --no-daemon bootJar

        FROM eclipse-temurin:21-jre
        COPY --from=build /src/build/libs/app.jar /app/app.jar
        USER 10001
        ENTRYPOINT ["java", "-jar", "/app/app.jar"]
        """, p=p), [(p, "curl -u password in Dockerfile")])

    p = pw()
    p = p.replace('"', "").replace("$", "x").replace("`", "")
    C(F, "powershell", "scripts/Mount-Shares.ps1", T("""
        # Maps the finance shares for the reporting service account
        param(
            [string]$Server = "fs01.corp.example.com"
        )

        $user = "CORP\\svc-reporting"
        $secure = ConvertTo-SecureString "§p§" -AsPlainText -Force
        $cred = New-Object System.Management.Automation.PSCredential($user, $secure)

        New-PSDrive -Name F -PSProvider FileSystem -Root "\\\\$Server\\finance" -Credential $cred -Persist
        New-PSDrive -Name R -PSProvider FileSystem -Root "\\\\$Server\\reports" -Credential $cred -Persist

        Get-PSDrive -PSProvider FileSystem | Format-Table Name, Root
        """, p=p), [(p, "plaintext password to ConvertTo-SecureString")])

    p = pw_plain(15)
    C(F, "shell-history", "home/ana/.zsh_history", T("""
        : 1714032211:0;cd ~/work/edge
        : 1714032215:0;git status
        : 1714032240:0;sshpass -p '§p§' ssh -o StrictHostKeyChecking=no admin@192.168.10.1
        : 1714032301:0;sshpass -p '§p§' scp admin@192.168.10.1:/etc/config/network ./router-network.bak
        : 1714032330:0;code router-network.bak
        : 1714032402:0;git add -A && git commit -m "router config backup"
        : 1714032410:0;git push
        : 1714032588:0;ping -c 3 192.168.10.1
        """, p=p), [(p, "sshpass -p password")])

    t = sonar()
    C(F, "groovy", "ci/Jenkinsfile.sonar", T("""
        node('linux') {
            stage('Checkout') {
                checkout scm
            }
            stage('Analysis') {
                sh \"\"\"
                  ./mvnw -B verify sonar:sonar \\
                    -Dsonar.host.url=https://sonar.example.com \\
                    -Dsonar.projectKey=billing-core \\
                    -Dsonar.login=§t§
                \"\"\"
            }
            stage('Archive') {
                archiveArtifacts artifacts: 'target/*.jar', fingerprint: true
            }
        }
        """, t=t), [(t, "SonarQube user token on command line")])

    p = pw_plain(22)
    C(F, "markdown", "runbooks/cache-flush.md", T("""
        # Runbook: flushing the session cache

        **When:** after a bad deploy corrupts session payloads (alert `SessionDecodeErrors`).

        1. Announce in #ops that users will be logged out.
        2. Connect from the bastion:

           ```sh
           redis-cli -h sessions.prod.internal -p 6379 -a '§p§' --no-auth-warning PING
           redis-cli -h sessions.prod.internal -p 6379 -a '§p§' --no-auth-warning FLUSHDB
           ```

        3. Watch the error rate in Grafana (dashboard "Sessions") return to baseline.
        4. File a follow-up ticket with the deploy SHA.
        """, p=p), [(p, "Redis password in runbook commands")])

    p = pw_plain(16)
    C(F, "shell-history", "home/ci/.local/share/fish/fish_history", T("""
        - cmd: cd certs
          when: 1716800012
        - cmd: openssl pkcs12 -export -in client.crt -inkey client.key -out client.p12 -passout pass:§p§
          when: 1716800101
          paths:
            - client.crt
            - client.key
        - cmd: keytool -importkeystore -srckeystore client.p12 -srcstoretype PKCS12 -srcstorepass §p§ -destkeystore client.jks -deststorepass §p§
          when: 1716800166
        - cmd: ls -l
          when: 1716800170
        """, p=p), [(p, "keystore password on openssl/keytool command line")])

    # ---- hard negatives ----
    C(F, "shell", "scripts/db_dump.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail
        : "${PGPASSWORD:?PGPASSWORD must be set (see vault kv get secret/db/backup)}"

        pg_dump --host="$PGHOST" --username="$PGUSER" --format=custom orders > "orders-$(date +%F).dump"

        # registry login without exposing the password in `ps`
        printf '%s' "$REGISTRY_PASSWORD" | docker login registry.example.com -u "$REGISTRY_USER" --password-stdin

        mysql --defaults-extra-file=/run/secrets/mysql.cnf -e 'SELECT 1'
        redis-cli -h "$REDIS_HOST" --askpass PING
        """))

    C(F, "shell-history", "home/lee/.bash_history", T("""
        sudo apt install postgresql-client
        psql -h localhost -U postgres -W
        mysql -u root -p
        ssh-keygen -t ed25519 -N '' -f ~/.ssh/id_ed25519_ci
        openssl rand -base64 32 > /tmp/newsecret && vault kv put secret/app jwt=@/tmp/newsecret
        shred -u /tmp/newsecret
        docker login ghcr.io -u lee --password-stdin < ~/.config/ghcr-token
        kubectl create secret generic app --from-env-file=.env.prod --dry-run=client -o yaml | kubeseal > sealed.yaml
        git add sealed.yaml
        """))

    C(F, "rst", "docs/admin/backup.rst", T("""
        Backups
        =======

        Run a one-off logical backup with::

            mysqldump -u USER -pPASSWORD --single-transaction DBNAME > dump.sql

        Replace ``USER``, ``PASSWORD`` and ``DBNAME``. Note there is no space
        after ``-p``. Better, put the credentials in an option file::

            mysqldump --defaults-extra-file=~/.backup.cnf DBNAME > dump.sql

        .. warning:: Passwords given on the command line are visible in ``ps``.
        """))

    C(F, "makefile", "deploy/Makefile", T("""
        REGISTRY := ghcr.io/acme
        VERSION  := $(shell cat VERSION)

        login:
        	@echo "$$GHCR_TOKEN" | docker login ghcr.io -u $(GHCR_USER) --password-stdin

        release: login
        	docker buildx build --platform linux/amd64,linux/arm64 \\
        	  -t $(REGISTRY)/api:$(VERSION) --push .

        db-shell:
        	psql "$$DATABASE_URL"

        .PHONY: login release db-shell
        """))

    C(F, "systemd-unit", "deploy/systemd/worker.service", T("""
        [Unit]
        Description=Background worker
        After=network-online.target

        [Service]
        User=worker
        EnvironmentFile=/etc/worker/worker.env
        LoadCredential=db-password:/etc/worker/credentials/db-password
        ExecStart=/opt/worker/bin/worker --db-password-file=${CREDENTIALS_DIRECTORY}/db-password --queue=default
        Restart=always

        [Install]
        WantedBy=multi-user.target
        """))


# =====================================================================
# connection-strings
# =====================================================================

def fam_conn():
    F = "connection-strings"
    p = pw_plain(20)
    C(F, "hocon", "conf/application.conf", T("""
        akka {
          loglevel = INFO
          loggers = ["akka.event.slf4j.Slf4jLogger"]
        }

        http {
          interface = "0.0.0.0"
          port = 8080
          port = ${?HTTP_PORT}
        }

        slick-postgres {
          profile = "slick.jdbc.PostgresProfile$"
          db {
            dataSourceClass = "slick.jdbc.DatabaseUrlDataSource"
            properties.url = "jdbc:postgresql://pg.prod.internal:5432/catalog?user=catalog_app&password=§p§&sslmode=require"
            numThreads = 10
            maxConnections = 10
          }
        }
        """, p=p), [(p, "password in JDBC URL")])

    p = pw_plain(24)
    C(F, "elixir", "config/prod.secret.exs", T("""
        use Mix.Config

        config :courier, CourierWeb.Endpoint,
          http: [port: 4000],
          secret_key_base: System.get_env("SECRET_KEY_BASE")

        # Configure your database
        config :courier, Courier.Repo,
          url: "ecto://courier:§p§@db.courier.internal/courier_prod",
          pool_size: 15,
          ssl: true

        config :courier, Courier.Mailer,
          adapter: Swoosh.Adapters.Postmark,
          api_key: System.get_env("POSTMARK_API_KEY")
        """, p=p), [(p, "password in Ecto URL")])

    p = pw().replace('"', "").replace("$", "x").replace("@", "a")
    C(F, "perl", "lib/Reports/DB.pm", T("""
        package Reports::DB;
        use strict;
        use warnings;
        use DBI;

        my $dsn  = "dbi:Pg:dbname=reports;host=pg-reports.internal;port=5432;sslmode=require";
        my $user = "reports_ro";
        my $pass = "§p§";

        sub connect {
            return DBI->connect($dsn, $user, $pass, {
                RaiseError => 1, AutoCommit => 1, pg_enable_utf8 => 1,
            }) or die $DBI::errstr;
        }

        1;
        """, p=p), [(p, "DBI password")])

    p1, p2 = pw_plain(22), pw_plain(28)
    C(F, "dotenv", "services/api/.env", T("""
        APP_ENV=staging
        APP_PORT=3000
        DATABASE_URL=postgres://api:§p1§@pg-staging.c7xk2.eu-west-1.rds.amazonaws.com:5432/api?sslmode=require
        REDIS_URL=rediss://:§p2§@redis-staging.internal:6380/0
        LOG_FORMAT=json
        CORS_ORIGINS=https://staging.example.com
        S3_BUCKET=api-staging-uploads
        """, p1=p1, p2=p2), [(p1, "Postgres URL password"), (p2, "Redis URL password")])

    p = pw_plain(16)
    C(F, "javascript", "src/db/mongo.js", T("""
        const { MongoClient, ServerApiVersion } = require('mongodb');

        const uri = 'mongodb+srv://inventory-svc:§p§@cluster0.x8k2m.mongodb.net/?retryWrites=true&w=majority&appName=inventory';

        const client = new MongoClient(uri, {
          serverApi: { version: ServerApiVersion.v1, strict: true, deprecationErrors: true },
        });

        async function connect() {
          await client.connect();
          return client.db('inventory');
        }

        module.exports = { connect, client };
        """, p=p), [(p, "MongoDB Atlas password in URI")])

    p = pw().replace(";", "").replace('"', "")
    C(F, "json", "src/Orders.Api/appsettings.Staging.json", T("""
        {
          "ConnectionStrings": {
            "OrdersDb": "Server=tcp:sql-orders-stg.database.windows.net,1433;Initial Catalog=orders;Persist Security Info=False;User ID=orders_app;Password=§p§;MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;",
            "Cache": "redis-orders-stg.redis.cache.windows.net:6380,ssl=True,abortConnect=False"
          },
          "Serilog": {
            "MinimumLevel": "Information"
          },
          "FeatureManagement": {
            "NewCheckout": true
          }
        }
        """, p=p), [(p, "SQL Server connection-string password")])

    p = pw_plain(20)
    C(F, "yaml", "src/main/resources/application-prod.yml", T("""
        server:
          port: 8080
          shutdown: graceful
        spring:
          application:
            name: notifier
          rabbitmq:
            addresses: amqps://notifier:§p§@b-3f2c9a.mq.eu-central-1.amazonaws.com:5671/prod
            listener:
              simple:
                prefetch: 20
          jackson:
            default-property-inclusion: non_null
        management:
          endpoints:
            web:
              exposure:
                include: health,info,prometheus
        """, p=p), [(p, "AMQP URI password")])

    p = pw_plain(18)
    C(F, "go", "cmd/shopd/main.go", T("""
        package main

        import (
        	"database/sql"
        	"log"
        	"net/http"

        	_ "github.com/go-sql-driver/mysql"
        )

        func main() {
        	db, err := sql.Open("mysql", "shop:§p§@tcp(10.0.12.5:3306)/shop?parseTime=true&tls=skip-verify")
        	if err != nil {
        		log.Fatal(err)
        	}
        	defer db.Close()
        	db.SetMaxOpenConns(25)
        	http.Handle("/", newRouter(db))
        	log.Fatal(http.ListenAndServe(":8080", nil))
        }
        """, p=p), [(p, "MySQL DSN password")])

    p = pw_plain(20)
    C(F, "docker-compose", "docker-compose.prod.yml", T("""
        services:
          web:
            image: registry.example.com/recipes/web:1.14.2
            ports: ["8000:8000"]
            environment:
              - DJANGO_SETTINGS_MODULE=recipes.settings.prod
              - CELERY_BROKER_URL=amqp://celery:§p§@rabbitmq:5672//
            depends_on: [rabbitmq]
          worker:
            image: registry.example.com/recipes/web:1.14.2
            command: celery -A recipes worker -l info
            environment:
              - CELERY_BROKER_URL=amqp://celery:§p§@rabbitmq:5672//
          rabbitmq:
            image: rabbitmq:3.13-management
            environment:
              RABBITMQ_DEFAULT_USER: celery
              RABBITMQ_DEFAULT_PASS: §p§
        """, p=p), [(p, "RabbitMQ password")])

    p = pw_plain(20)
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["## Weekly churn pull\n", "Runs against the warehouse replica."]},
        {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [],
         "source": ["import pandas as pd\n", "from sqlalchemy import create_engine\n", "\n",
                    f"engine = create_engine(\"postgresql+psycopg2://analyst:{p}@warehouse-ro.internal:5432/dw\")\n",
                    "q = open(\"sql/churn_weekly.sql\").read()"]},
        {"cell_type": "code", "execution_count": 4, "metadata": {}, "outputs": [
            {"data": {"text/plain": ["(5231, 12)"]}, "execution_count": 4, "metadata": {}, "output_type": "execute_result"}],
         "source": ["df = pd.read_sql(q, engine)\n", "df.shape"]}],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}
    C(F, "ipynb", "analysis/churn_weekly.ipynb", json.dumps(nb, indent=1) + "\n", [(p, "Postgres password in SQLAlchemy URL")])

    p = pw_plain(20)
    C(F, "edn", "resources/config.edn", T("""
        {:http {:port 3000
                :host "0.0.0.0"}
         :db {:jdbcUrl "jdbc:postgresql://pg.internal:5432/ledger?user=ledger&password=§p§"
              :maximum-pool-size 10}
         :jobs {:reconcile-cron "0 15 2 * * ?"
                :enabled? true}
         :log-level :info}
        """, p=p), [(p, "password in JDBC URL (EDN)")])

    p = pw_plain(22)
    C(F, "nix", "hosts/metrics/configuration.nix", T("""
        { config, pkgs, ... }:
        {
          imports = [ ./hardware-configuration.nix ];

          networking.hostName = "metrics";
          services.grafana = {
            enable = true;
            settings = {
              server.http_addr = "127.0.0.1";
              server.http_port = 3000;
              database = {
                type = "mysql";
                url = "mysql://grafana:§p§@db.lan:3306/grafana";
              };
            };
          };
          services.prometheus.enable = true;
          system.stateVersion = "23.11";
        }
        """, p=p), [(p, "MySQL URL password in Nix config")])

    p = pw_plain(32)
    C(F, "java-properties", "config/consumer.properties", T("""
        bootstrap.servers=pkc-4r297.europe-west1.gcp.confluent.cloud:9092
        security.protocol=SASL_SSL
        sasl.mechanism=PLAIN
        sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="§u§" password="§p§";
        client.dns.lookup=use_all_dns_ips
        session.timeout.ms=45000
        group.id=orders-projector
        auto.offset.reset=earliest
        key.deserializer=org.apache.kafka.common.serialization.StringDeserializer
        value.deserializer=io.confluent.kafka.serializers.KafkaAvroDeserializer
        """, u=upd(16), p=p), [(p, "Kafka SASL password (Confluent API secret)")])

    p = pw_plain(32)
    C(F, "python", "app/cache.py", T("""
        import redis

        # Redis Cloud (prod). TODO: move to settings
        REDIS_URL = "redis://default:§p§@redis-14623.c300.eu-central-1-1.ec2.redns.redis-cloud.com:14623"

        pool = redis.ConnectionPool.from_url(REDIS_URL, max_connections=50, decode_responses=True)


        def get_client() -> redis.Redis:
            return redis.Redis(connection_pool=pool)


        def cache_get(key: str):
            return get_client().get(f"v2:{key}")
        """, p=p), [(p, "Redis URL password")])

    # ---- hard negatives ----
    C(F, "yaml", ".gitlab/ci/test.yml", T("""
        test:
          stage: test
          image: python:3.12
          services:
            - name: postgres:16
              alias: db
          variables:
            POSTGRES_DB: app_test
            POSTGRES_USER: postgres
            POSTGRES_PASSWORD: postgres
            DATABASE_URL: "postgres://postgres:postgres@db:5432/app_test"
            REDIS_URL: "redis://localhost:6379/1"
          script:
            - pip install -r requirements-dev.txt
            - pytest -q
        """))

    C(F, "javascript", "config/default.js", T("""
        module.exports = {
          port: Number(process.env.PORT || 3000),
          mongo: {
            uri: `mongodb://${process.env.MONGO_USER}:${encodeURIComponent(process.env.MONGO_PASS)}@${process.env.MONGO_HOST}:27017/app?authSource=admin`,
          },
          amqp: process.env.AMQP_URL,
          postgres: {
            connectionString: process.env.DATABASE_URL,
            ssl: { rejectUnauthorized: true },
          },
          logLevel: process.env.LOG_LEVEL || 'info',
        };
        """))

    C(F, "json", "src/Billing.Api/appsettings.json", T("""
        {
          "ConnectionStrings": {
            "Billing": "Server=tcp:sql-billing.database.windows.net,1433;Database=billing;Authentication=Active Directory Managed Identity;Encrypt=True;",
            "Legacy": "Data Source=SQL01;Initial Catalog=LegacyBilling;Integrated Security=True;TrustServerCertificate=True"
          },
          "KeyVault": { "Uri": "https://kv-billing-prod.vault.azure.net/" },
          "Logging": { "LogLevel": { "Default": "Information" } }
        }
        """))

    C(F, "rst", "docs/configuration.rst", T("""
        Configuration
        =============

        ``DATABASE_URL``
            SQLAlchemy URL of the primary database, e.g.
            ``postgresql://user:password@host:5432/dbname``.

        ``BROKER_URL``
            Celery broker, e.g. ``amqp://guest:guest@localhost:5672//`` for local
            development with the stock RabbitMQ image.

        ``CACHE_URL``
            ``redis://[:password]@host:port/db``. Leave unset to disable caching.
        """))

    C(F, "java-properties", "src/test/resources/application-test.properties", T("""
        spring.datasource.url=jdbc:h2:mem:testdb;DB_CLOSE_DELAY=-1;MODE=PostgreSQL
        spring.datasource.username=sa
        spring.datasource.password=
        spring.jpa.hibernate.ddl-auto=create-drop
        spring.flyway.enabled=false
        spring.data.redis.url=redis://localhost:6379
        spring.rabbitmq.addresses=amqp://guest:guest@localhost:5672
        logging.level.org.hibernate.SQL=debug
        """))


# =====================================================================
# http-auth
# =====================================================================

def har(entries):
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                               "pages": [{"startedDateTime": "2024-05-14T10:02:11.412Z", "id": "page_1", "title": "https://app.example.com/dashboard",
                                          "pageTimings": {"onContentLoad": 412.3, "onLoad": 918.7}}],
                               "entries": entries}}, indent=2) + "\n"


def har_entry(method, url, headers, status=200, body="{}"):
    return {"startedDateTime": "2024-05-14T10:02:12.001Z", "time": 142.5, "pageref": "page_1",
            "request": {"method": method, "url": url, "httpVersion": "http/2.0",
                        "headers": [{"name": k, "value": v} for k, v in headers],
                        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": status, "statusText": "", "httpVersion": "http/2.0",
                         "headers": [{"name": "content-type", "value": "application/json"}],
                         "cookies": [], "content": {"size": len(body), "mimeType": "application/json", "text": body},
                         "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
            "cache": {}, "timings": {"blocked": 1.2, "dns": -1, "ssl": -1, "connect": -1, "send": 0.2, "wait": 139.8, "receive": 1.3}}


def fam_http():
    F = "http-auth"
    tok = jwt_rs({"sub": uuid4(), "iss": "https://auth.example.com/", "aud": "app-api", "exp": 1715684531, "scope": "read write"})
    sess = b64u(43)
    C(F, "har", "support/ticket-8812/app.example.com.har", har([
        har_entry("GET", "https://app.example.com/api/v2/projects?limit=20",
                  [("accept", "application/json"), ("authorization", "Bearer " + tok),
                   ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36")],
                  body='{"items":[],"next":null}'),
        har_entry("GET", "https://app.example.com/api/v2/me",
                  [("accept", "application/json"), ("cookie", "theme=dark; app_session=" + sess)], body='{"id":42}'),
    ]), [(tok, "bearer access token (JWT) in HAR"), (sess, "session cookie in HAR")])

    user, p = "svc-reports", pw_plain(18)
    basic = b64(f"{user}:{p}".encode())
    C(F, "curl-trace", "debug/curl-reports-401.txt", T("""
        $ curl -v -u svc-reports:******** https://reports.example.com/api/export?fmt=csv
        *   Trying 198.51.100.27:443...
        * Connected to reports.example.com (198.51.100.27) port 443 (#0)
        * ALPN: offers h2,http/1.1
        * TLSv1.3 (OUT), TLS handshake, Client hello (1):
        * TLSv1.3 (IN), TLS handshake, Server hello (2):
        * SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384
        * Server certificate:
        *  subject: CN=reports.example.com
        *  issuer: C=US; O=Let's Encrypt; CN=R3
        * using HTTP/2
        * Server auth using Basic with user 'svc-reports'
        > GET /api/export?fmt=csv HTTP/2
        > Host: reports.example.com
        > authorization: Basic §basic§
        > user-agent: curl/8.5.0
        > accept: */*
        >
        < HTTP/2 401
        < content-type: application/json
        < www-authenticate: Basic realm="reports"
        < x-request-id: §rid§
        <
        {"error":"account locked"}
        * Connection #0 to host reports.example.com left intact
        """, basic=basic, rid=uuid4()), [(basic, "HTTP Basic credentials in curl -v trace")])

    t = b62(40)
    coll = {"info": {"_postman_id": uuid4(), "name": "Fulfilment API", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "auth": {"type": "bearer", "bearer": [{"key": "token", "value": t, "type": "string"}]},
            "item": [{"name": "List shipments", "request": {"method": "GET", "header": [],
                                                             "url": {"raw": "{{baseUrl}}/v1/shipments?status=open", "host": ["{{baseUrl}}"], "path": ["v1", "shipments"],
                                                                     "query": [{"key": "status", "value": "open"}]}}},
                     {"name": "Create label", "request": {"method": "POST", "header": [{"key": "Content-Type", "value": "application/json"}],
                                                           "body": {"mode": "raw", "raw": "{\n  \"shipmentId\": \"sh_123\"\n}"},
                                                           "url": {"raw": "{{baseUrl}}/v1/labels", "host": ["{{baseUrl}}"], "path": ["v1", "labels"]}}}],
            "variable": [{"key": "baseUrl", "value": "https://fulfilment.example.com"}]}
    C(F, "postman-collection", "postman/Fulfilment API.postman_collection.json", json.dumps(coll, indent="\t") + "\n", [(t, "bearer token in Postman collection auth")])

    p = pw()
    exp = {"_type": "export", "__export_format": 4, "__export_date": "2024-04-02T13:11:09.402Z", "__export_source": "insomnia.desktop.app:v8.6.1",
           "resources": [
               {"_id": "req_" + hx(32), "parentId": "wrk_" + hx(32), "_type": "request", "name": "Get invoices",
                "method": "GET", "url": "https://erp.example.com/api/invoices", "body": {}, "parameters": [], "headers": [],
                "authentication": {"type": "basic", "useISO88591": False, "disabled": False, "username": "integration", "password": p}},
               {"_id": "wrk_" + hx(32), "parentId": None, "_type": "workspace", "name": "ERP", "scope": "collection"},
               {"_id": "env_" + hx(32), "parentId": "wrk_" + hx(32), "_type": "environment", "name": "Base Environment", "data": {"host": "erp.example.com"}}]}
    C(F, "insomnia-export", "api-clients/insomnia-erp.json", json.dumps(exp, indent=2) + "\n", [(json.dumps(p)[1:-1], "Basic-auth password in Insomnia export")])

    k = hx(32)
    C(F, "http-file", "api/requests/geo.http", T("""
        @host = https://geo.example.net
        @apiKey = §k§

        ### Reverse geocode
        GET {{host}}/v3/reverse?lat=52.52&lon=13.405&lang=de
        Accept: application/json
        X-API-Key: {{apiKey}}

        ### Batch geocode
        POST {{host}}/v3/batch
        Content-Type: application/json
        X-API-Key: {{apiKey}}

        {"queries": ["Alexanderplatz 1, Berlin", "Marienplatz, München"]}
        """, k=k), [(k, "API key in REST-client .http variables")])

    basic = b64(f"metrics:{pw_plain(20)}".encode())
    C(F, "nginx-conf", "deploy/nginx/conf.d/metrics-proxy.conf", T("""
        upstream victoria {
            server vm-prod-1.internal:8428;
            keepalive 16;
        }

        server {
            listen 443 ssl http2;
            server_name metrics.example.com;

            ssl_certificate     /etc/nginx/tls/metrics.crt;
            ssl_certificate_key /etc/nginx/tls/metrics.key;

            location /api/v1/write {
                proxy_pass http://victoria;
                proxy_set_header Authorization "Basic §basic§";
                proxy_set_header Host $host;
            }
        }
        """, basic=basic), [(basic, "Basic auth header in nginx proxy config")])

    t = hx(40)
    C(F, "python", "tools/sync_tags.py", T("""
        import requests

        API = "https://catalog.example.com/api"
        HEADERS = {
            "Authorization": "Token §t§",
            "Accept": "application/json",
        }


        def fetch_tags(page=1):
            r = requests.get(f"{API}/tags/", params={"page": page}, headers=HEADERS, timeout=10)
            r.raise_for_status()
            return r.json()


        if __name__ == "__main__":
            for tag in fetch_tags()["results"]:
                print(tag["slug"])
        """, t=t), [(t, "DRF token in Authorization header")])

    k = b62(32)
    C(F, "lua", "openresty/lua/upstream_auth.lua", T("""
        -- access_by_lua_file: add upstream API key and strip client auth
        local upstream_key = "§k§"

        ngx.req.clear_header("Authorization")
        ngx.req.set_header("X-Api-Key", upstream_key)

        local uri = ngx.var.uri
        if uri:find("^/internal/") then
          return ngx.exit(ngx.HTTP_FORBIDDEN)
        end

        ngx.log(ngx.INFO, "proxied ", uri)
        """, k=k), [(k, "upstream API key in OpenResty Lua")])

    t = b64u(48)
    C(F, "shell-history", "home/dev/.bash_history", T("""
        cd ~/proj/billing
        make test
        curl -s https://billing.example.com/healthz
        curl -s -H "Authorization: Bearer §t§" https://billing.example.com/admin/v1/invoices?status=failed | jq '.[] | .id'
        curl -s -X POST -H "Authorization: Bearer §t§" https://billing.example.com/admin/v1/invoices/inv_7731/retry
        git log --oneline -5
        """, t=t), [(t, "bearer token in curl history")])

    basic = b64(f"kiosk:{pw_plain(16)}".encode())
    C(F, "objective-c", "Kiosk/KSApiClient.m", T("""
        #import "KSApiClient.h"

        static NSString * const kBaseURL = @"https://kiosk-api.example.com/v1";

        @implementation KSApiClient

        - (NSMutableURLRequest *)requestForPath:(NSString *)path {
            NSURL *url = [NSURL URLWithString:[kBaseURL stringByAppendingString:path]];
            NSMutableURLRequest *req = [NSMutableURLRequest requestWithURL:url];
            [req setValue:@"Basic §basic§" forHTTPHeaderField:@"Authorization"];
            [req setValue:@"application/json" forHTTPHeaderField:@"Accept"];
            req.timeoutInterval = 15;
            return req;
        }

        @end
        """, basic=basic), [(basic, "Basic auth header in Objective-C")])

    p = pw_plain(20)
    C(F, "scala", "src/main/scala/reporting/Client.scala", T("""
        package reporting

        import sttp.client3._

        object Client {
          private val backend = HttpClientSyncBackend()

          def monthly(month: String): String = {
            val req = basicRequest
              .get(uri"https://bi.example.com/api/reports/monthly?month=$month")
              .auth.basic("svc-reporting", "§p§")
            req.send(backend).body.fold(err => sys.error(err), identity)
          }
        }
        """, p=p), [(p, "basic auth password in sttp call")])

    k = hx(32)
    C(F, "log", "logs/nginx/access.log", T("""
        203.0.113.7 - - [14/May/2024:10:11:02 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
        198.51.100.44 - - [14/May/2024:10:11:05 +0000] "GET /v2/report?from=2024-05-01&api_key=§k§ HTTP/1.1" 200 18233 "-" "python-requests/2.31.0"
        203.0.113.7 - - [14/May/2024:10:11:12 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
        198.51.100.44 - - [14/May/2024:10:12:05 +0000] "GET /v2/report?from=2024-05-02&api_key=§k§ HTTP/1.1" 200 17990 "-" "python-requests/2.31.0"
        192.0.2.91 - - [14/May/2024:10:12:40 +0000] "POST /v2/login HTTP/1.1" 302 0 "https://app.example.com/" "Mozilla/5.0"
        203.0.113.7 - - [14/May/2024:10:12:42 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
        198.51.100.12 - - [14/May/2024:10:13:01 +0000] "GET /static/app.3f9c1d.js HTTP/1.1" 200 48211 "-" "Mozilla/5.0"
        203.0.113.7 - - [14/May/2024:10:13:12 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
        192.0.2.91 - - [14/May/2024:10:13:20 +0000] "GET /v2/me HTTP/1.1" 200 311 "-" "Mozilla/5.0"
        203.0.113.7 - - [14/May/2024:10:13:42 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
        """, k=k), [(k, "API key in query string of access log")])

    k = b62(20)
    C(F, "bazelrc", ".bazelrc", T("""
        common --enable_bzlmod
        build --incompatible_strict_action_env
        build --disk_cache=~/.cache/bazel-disk

        build:remote --bes_results_url=https://app.buildbuddy.io/invocation/
        build:remote --bes_backend=grpcs://remote.buildbuddy.io
        build:remote --remote_cache=grpcs://remote.buildbuddy.io
        build:remote --remote_timeout=3600
        build:remote --remote_header=x-buildbuddy-api-key=§k§

        test --test_output=errors
        try-import %workspace%/user.bazelrc
        """, k=k), [(k, "BuildBuddy API key header")])

    # ---- hard negatives ----
    C(F, "har", "support/ticket-9120/sanitized.har", har([
        har_entry("GET", "https://app.example.com/api/v2/projects",
                  [("accept", "application/json"), ("authorization", "Bearer [REDACTED]"), ("cookie", "app_session=[REDACTED]")]),
        har_entry("GET", "https://cdn.example.com/assets/app.9c1e44.js",
                  [("accept", "*/*"), ("if-none-match", "W/\"" + hx(40) + "\"")], body=""),
    ]))

    coll = {"info": {"_postman_id": uuid4(), "name": "Billing API (shared)", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{accessToken}}", "type": "string"}]},
            "item": [{"name": "Get token", "request": {"method": "POST", "header": [],
                                                        "body": {"mode": "urlencoded", "urlencoded": [
                                                            {"key": "grant_type", "value": "client_credentials"},
                                                            {"key": "client_id", "value": "{{clientId}}"},
                                                            {"key": "client_secret", "value": "{{clientSecret}}"}]},
                                                        "url": {"raw": "{{authUrl}}/oauth/token"}}}],
            "variable": [{"key": "authUrl", "value": "https://auth.example.com"}, {"key": "clientId", "value": ""}, {"key": "clientSecret", "value": ""}]}
    C(F, "postman-collection", "postman/Billing.postman_collection.json", json.dumps(coll, indent="\t") + "\n")

    C(F, "openapi-yaml", "api/openapi.yaml", T("""
        openapi: 3.0.3
        info:
          title: Fulfilment API
          version: 1.4.0
        components:
          securitySchemes:
            bearerAuth:
              type: http
              scheme: bearer
              bearerFormat: JWT
            apiKey:
              type: apiKey
              in: header
              name: X-API-Key
        security:
          - bearerAuth: []
        paths:
          /v1/shipments:
            get:
              parameters:
                - in: header
                  name: Authorization
                  example: "Bearer <access-token>"
                  schema: { type: string }
              responses:
                "200": { description: OK }
        """))

    C(F, "nginx-conf", "deploy/nginx/conf.d/admin.conf", T("""
        server {
            listen 443 ssl;
            server_name admin.example.com;

            auth_basic           "Restricted";
            auth_basic_user_file /etc/nginx/.htpasswd;

            location / {
                proxy_pass http://127.0.0.1:9000;
                proxy_set_header Authorization $http_authorization;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            }
        }
        """))

    C(F, "curl-trace", "debug/curl-cdn.txt", T("""
        *   Trying 151.101.1.69:443...
        * Connected to cdn.example.com (151.101.1.69) port 443 (#0)
        > GET /assets/app.js HTTP/2
        > Host: cdn.example.com
        > user-agent: curl/8.5.0
        > accept: */*
        > if-none-match: "§etag§"
        >
        < HTTP/2 304
        < etag: "§etag§"
        < x-served-by: cache-fra-etou8220137-FRA
        < x-cache: HIT
        < x-amz-cf-id: §cf§
        < x-request-id: §rid§
        <
        * Connection #0 to host cdn.example.com left intact
        """, etag=hx(32), cf=b64u(56) + "==", rid=uuid4()))

    C(F, "markdown", "docs/auth.md", T("""
        # Authenticating against the API

        Exchange your client credentials for a token, then send it as a bearer token:

        ```http
        GET /v1/me HTTP/1.1
        Host: api.example.com
        Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c
        ```

        (That is the well-known example token from jwt.io; it is signed with
        `your-256-bit-secret`.) For Basic auth use `Authorization: Basic <base64(user:pass)>`.
        """))


# =====================================================================
# webhooks-bots
# =====================================================================

def fam_hooks():
    F = "webhooks-bots"
    sh, rk = slack_hook(), hx(32)
    C(F, "alertmanager-yaml", "monitoring/alertmanager/alertmanager.yml", T("""
        global:
          resolve_timeout: 5m
          slack_api_url: "§sh§"

        route:
          receiver: slack-default
          group_by: ["alertname", "cluster"]
          group_wait: 30s
          repeat_interval: 4h
          routes:
            - matchers: ['severity="critical"']
              receiver: pagerduty-oncall

        receivers:
          - name: slack-default
            slack_configs:
              - channel: "#alerts"
                send_resolved: true
          - name: pagerduty-oncall
            pagerduty_configs:
              - routing_key: §rk§
                severity: critical
        """, sh=sh, rk=rk), [(sh, "Slack incoming webhook URL"), (rk, "PagerDuty Events v2 routing key")])

    dh = discord_hook()
    C(F, "python", "bots/notify_release.py", T("""
        import sys
        import requests

        WEBHOOK = "§dh§"


        def announce(version: str, notes: str) -> None:
            payload = {
                "username": "release-bot",
                "embeds": [{"title": f"v{version} released", "description": notes[:3900], "color": 0x2ECC71}],
            }
            r = requests.post(WEBHOOK, json=payload, timeout=10)
            r.raise_for_status()


        if __name__ == "__main__":
            announce(sys.argv[1], open("CHANGELOG.md").read())
        """, dh=dh), [(dh, "Discord webhook URL")])

    tg = telegram()
    C(F, "lua", "bot/main.lua", T("""
        local api = require("telegram-bot-lua.core").configure("§tg§")
        local json = require("dkjson")

        function api.on_message(message)
          if message.text and message.text:match("^/status") then
            local f = io.popen("uptime")
            local out = f:read("*a")
            f:close()
            api.send_message(message.chat.id, "```\\n" .. out .. "```", "Markdown")
          end
        end

        api.run({ timeout = 60 })
        """, tg=tg), [(tg, "Telegram bot token")])

    th = teams_hook()
    C(F, "groovy", "vars/notifyTeams.groovy", T("""
        def call(String status) {
            def color = status == 'SUCCESS' ? '2EB886' : 'E01E5A'
            office365ConnectorSend(
                webhookUrl: '§th§',
                status: status,
                color: color,
                message: "${env.JOB_NAME} #${env.BUILD_NUMBER}: ${status} (<${env.BUILD_URL}|open>)"
            )
        }
        """, th=th), [(th, "Microsoft Teams incoming webhook URL")])

    sb, ss = slack_bot(), hx(32)
    C(F, "python", "errbot/config.py", T("""
        import logging

        BACKEND = "SlackV3"
        BOT_DATA_DIR = "/srv/errbot/data"
        BOT_EXTRA_PLUGIN_DIR = "/srv/errbot/plugins"
        BOT_LOG_FILE = "/var/log/errbot.log"
        BOT_LOG_LEVEL = logging.INFO

        BOT_IDENTITY = {
            "token": "§sb§",
            "signing_secret": "§ss§",
        }
        BOT_ADMINS = ("@mvoss", "@ana")
        CHATROOM_PRESENCE = ("#ops",)
        BOT_PREFIX = "!"
        """, sb=sb, ss=ss), [(sb, "Slack bot token"), (ss, "Slack signing secret")])

    db = discord_bot()
    C(F, "elixir", "config/config.exs", T("""
        import Config

        config :nostrum,
          token: "§db§",
          gateway_intents: [:guilds, :guild_messages, :message_content]

        config :logger, :console,
          format: "$time $metadata[$level] $message\\n",
          metadata: [:shard, :guild, :channel]

        config :ratbot,
          prefix: "!",
          owner_id: 201948221394862081

        import_config "#{config_env()}.exs"
        """, db=db), [(db, "Discord bot token")])

    ws = b62(40)
    C(F, "json", "deploy/webhook/hooks.json", T("""
        [
          {
            "id": "redeploy-site",
            "execute-command": "/srv/hooks/redeploy.sh",
            "command-working-directory": "/srv/site",
            "pass-arguments-to-command": [
              { "source": "payload", "name": "head_commit.id" }
            ],
            "trigger-rule": {
              "and": [
                { "match": { "type": "payload-hmac-sha256", "secret": "§ws§", "parameter": { "source": "header", "name": "X-Hub-Signature-256" } } },
                { "match": { "type": "value", "value": "refs/heads/main", "parameter": { "source": "payload", "name": "ref" } } }
              ]
            }
          }
        ]
        """, ws=ws), [(ws, "GitHub webhook HMAC secret")])

    wh = whsec()
    C(F, "dotenv", "apps/checkout/.env.local", T("""
        NEXT_PUBLIC_APP_URL=http://localhost:3000
        NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY=pk_test_§pk§
        STRIPE_WEBHOOK_SECRET=§wh§
        DATABASE_URL=postgres://postgres:postgres@localhost:5432/checkout
        EMAIL_FROM=orders@example.com
        """, pk=b62(99), wh=wh), [(wh, "Stripe webhook signing secret")])

    key, tok = "AIza" + b64u(35), b64u(43)
    gc = f"https://chat.googleapis.com/v1/spaces/AAAA{b64u(7)}/messages?key={key}&token={tok}"
    C(F, "yaml", "argo/workflows/notify-template.yaml", T("""
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata:
          name: notify-gchat
          namespace: argo
        spec:
          entrypoint: notify
          arguments:
            parameters:
              - name: text
          templates:
            - name: notify
              inputs:
                parameters:
                  - name: text
              container:
                image: curlimages/curl:8.7.1
                args:
                  - -sS
                  - -X
                  - POST
                  - -H
                  - "Content-Type: application/json"
                  - -d
                  - '{"text": "{{inputs.parameters.text}}"}'
                  - "§gc§"
        """, gc=gc), [(tok, "Google Chat webhook token")])

    sid, at = "AC" + hx(32), hx(32)
    C(F, "dotenv", "sms-bot/.env", T("""
        # Twilio SMS bot
        TWILIO_ACCOUNT_SID=§sid§
        TWILIO_AUTH_TOKEN=§at§
        TWILIO_FROM_NUMBER=+15005550006
        TWILIO_MESSAGING_SERVICE_SID=MG§mg§
        BOT_ADMIN_NUMBERS=+4915112345678,+4917698765432
        LOG_LEVEL=debug
        """, sid=sid, at=at, mg=hx(32)), [(at, "Twilio auth token")])

    dh = discord_hook()
    C(F, "grafana-provisioning", "grafana/provisioning/alerting/contact-points.yaml", T("""
        apiVersion: 1
        contactPoints:
          - orgId: 1
            name: discord-homelab
            receivers:
              - uid: discord-homelab
                type: discord
                settings:
                  url: §dh§
                  use_discord_username: false
                disableResolveMessage: false
          - orgId: 1
            name: email-me
            receivers:
              - uid: email-me
                type: email
                settings:
                  addresses: me@example.org
        """, dh=dh), [(dh, "Discord webhook URL")])

    tg = telegram()
    C(F, "dart", "bin/bot.dart", T("""
        import 'package:teledart/teledart.dart';
        import 'package:teledart/telegram.dart';

        const botToken = '§tg§';

        Future<void> main() async {
          final username = (await Telegram(botToken).getMe()).username;
          final teledart = TeleDart(botToken, Event(username!));
          teledart.start();

          teledart.onCommand('ping').listen((message) => message.reply('pong'));
          teledart.onCommand('time').listen(
              (message) => message.reply(DateTime.now().toUtc().toIso8601String()));
        }
        """, tg=tg), [(tg, "Telegram bot token")])

    # ---- hard negatives ----
    C(F, "alertmanager-yaml", "monitoring/alertmanager/alertmanager.prod.yml", T("""
        global:
          resolve_timeout: 5m
          slack_api_url_file: /etc/alertmanager/secrets/slack-webhook-url

        route:
          receiver: slack-default
          group_by: ["alertname"]

        receivers:
          - name: slack-default
            slack_configs:
              - channel: "#alerts-prod"
                send_resolved: true
                title: '{{ template "slack.default.title" . }}'
          - name: pagerduty
            pagerduty_configs:
              - routing_key_file: /etc/alertmanager/secrets/pd-routing-key
        """))

    C(F, "markdown", "docs/integrations/slack.md", T("""
        # Slack notifications

        1. Create an app at <https://api.slack.com/apps> and enable *Incoming Webhooks*.
        2. Add a webhook to your channel. The URL looks like:

           ```
           https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX
           ```

        3. Store it as the `SLACK_WEBHOOK_URL` secret in the CI settings.

        Bot tokens start with `xoxb-` and belong in the secret store too.
        """))

    C(F, "helm-yaml", "charts/notifier/templates/deployment.yaml", T("""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "notifier.fullname" . }}
        spec:
          replicas: {{ .Values.replicaCount }}
          template:
            spec:
              containers:
                - name: notifier
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                  env:
                    - name: DISCORD_WEBHOOK_URL
                      value: {{ .Values.discord.webhookUrl | quote }}
                    - name: TELEGRAM_BOT_TOKEN
                      valueFrom:
                        secretKeyRef:
                          name: {{ .Values.telegram.existingSecret }}
                          key: token
        """))

    C(F, "python", "tests/test_telegram_parse.py", T("""
        from bot.telegram import parse_token

        # Example token from the Telegram Bot API documentation.
        DOC_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


        def test_parse_bot_id():
            assert parse_token(DOC_TOKEN).bot_id == 123456


        def test_rejects_garbage():
            import pytest
            with pytest.raises(ValueError):
                parse_token("not-a-token")
        """))

    C(F, "yaml", "config/sms.yaml", T("""
        twilio:
          account_sid: AC§sid§
          messaging_service_sid: MG§mg§
          auth_token: ${TWILIO_AUTH_TOKEN}
          status_callback: https://sms.example.com/twilio/status
        slack:
          bot_token: ${SLACK_BOT_TOKEN}
          channel: C§ch§
        retry:
          attempts: 3
          backoff: 2s
        """, sid=hx(32), mg=hx(32), ch=upd(10)))


# =====================================================================
# generic
# =====================================================================

def fam_generic():
    F = "generic"
    s = b64c(48)
    C(F, "scala", "app/config/AuthConfig.scala", T("""
        package config

        import pdi.jwt.JwtAlgorithm

        object AuthConfig {
          val issuer: String = "https://id.example.com"
          val audience: String = "orders-api"
          val algorithm = JwtAlgorithm.HS512
          val jwtSecret: String = "§s§"
          val tokenTtlSeconds: Long = 3600L
          val refreshTtlSeconds: Long = 14L * 24 * 3600
        }
        """, s=s), [(s, "JWT HMAC secret")])

    p = pw().replace('"', "").replace("\\", "")
    C(F, "haskell", "src/Config.hs", T("""
        {-# LANGUAGE OverloadedStrings #-}
        module Config where

        import Database.PostgreSQL.Simple (ConnectInfo(..))

        dbInfo :: ConnectInfo
        dbInfo = ConnectInfo
          { connectHost     = "pg.internal"
          , connectPort     = 5432
          , connectUser     = "inventory"
          , connectPassword = "§p§"
          , connectDatabase = "inventory"
          }

        listenPort :: Int
        listenPort = 8080
        """, p=p), [(p, "database password in Haskell record")])

    s = hx(64)
    C(F, "lua", "config.lua", T("""
        local config = require("lapis.config")

        config("production", {
          port = 80,
          num_workers = "auto",
          code_cache = "on",
          session_name = "lapis_session",
          secret = "§s§",
          postgres = {
            host = "127.0.0.1",
            user = "lapis",
            database = "forum",
          },
        })
        """, s=s), [(s, "Lapis session signing secret")])

    s1, s2 = b62(40), b62(40)
    C(F, "perl", "myapp.conf", T("""
        {
          secrets    => ['§s1§', '§s2§'],
          hypnotoad  => {
            listen  => ['http://*:8080'],
            workers => 6,
            proxy   => 1,
          },
          pg         => 'postgresql://myapp@/myapp',
          mail_from  => 'noreply@example.org',
        }
        """, s1=s1, s2=s2), [(s1, "Mojolicious cookie signing secret"), (s2, "Mojolicious cookie signing secret (previous)")])

    p, ak = pw_plain(24), hx(40)
    bp, bak = b64(p.encode()), b64(ak.encode())
    C(F, "k8s-yaml", "k8s/apps/payments/secret.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: payments-env
          namespace: payments
          labels:
            app: payments
        type: Opaque
        data:
          DB_USER: §bu§
          DB_PASSWORD: §bp§
          ADYEN_API_KEY: §bak§
          LOG_LEVEL: §ll§
        """, bu=b64(b"payments"), bp=bp, bak=bak, ll=b64(b"info")),
      [(bp, "base64 DB password in Secret data"), (bak, "base64 API key in Secret data")])

    sk, dbp = b64u(50), pw_plain(20)
    C(F, "crash-log", "logs/crash-2024-05-30T0412.log", T("""
        [2024-05-30 04:12:09,551] ERROR django.request: Internal Server Error: /api/orders/export
        Traceback (most recent call last):
          File "/app/.venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner
            response = get_response(request)
          File "/app/orders/views.py", line 212, in export
            rows = build_rows(qs)
          File "/app/orders/export.py", line 48, in build_rows
            total += row.amount / row.qty
        ZeroDivisionError: division by zero

        --- environment ---
        HOSTNAME=orders-web-6d9f7c7b9c-x2kqp
        PYTHONUNBUFFERED=1
        DJANGO_SETTINGS_MODULE=orders.settings.prod
        DJANGO_SECRET_KEY=§sk§
        DATABASE_HOST=pg-primary.prod.internal
        DATABASE_USER=orders
        DATABASE_PASSWORD=§dbp§
        SENTRY_ENVIRONMENT=production
        KUBERNETES_SERVICE_HOST=10.96.0.1
        --- end environment ---
        """, sk=sk, dbp=dbp), [(sk, "Django SECRET_KEY in env dump"), (dbp, "DB password in env dump")])

    s = b64c(64)
    C(F, "java-properties", "src/main/resources/application.properties", T("""
        spring.application.name=accounts
        server.port=8081
        spring.datasource.url=jdbc:postgresql://${DB_HOST:localhost}:5432/accounts
        spring.datasource.username=${DB_USER:accounts}
        spring.datasource.password=${DB_PASSWORD}
        app.jwt.issuer=accounts
        app.jwt.signing-key=§s§
        app.jwt.ttl=PT30M
        management.endpoints.web.exposure.include=health,info
        """, s=s), [(s, "JWT signing key in properties")])

    p = pw_plain(20)
    C(F, "pulumi-yaml", "infra/Pulumi.staging.yaml", T("""
        config:
          aws:region: eu-west-1
          infra:clusterName: staging
          infra:instanceType: t3.large
          infra:dbUser: app
          infra:dbPassword: §p§
          infra:grafanaAdminPassword:
            secure: v1:§sec§
          infra:enableBackups: "false"
        """, p=p, sec=b64(rbytes(48))), [(p, "plaintext DB password in Pulumi stack config")])

    p = pw_plain(24)
    C(F, "helm-yaml", "deploy/redis/values-prod.yaml", T("""
        architecture: replication
        auth:
          enabled: true
          sentinel: true
          password: "§p§"
        master:
          persistence:
            size: 16Gi
          resources:
            requests: { cpu: 500m, memory: 2Gi }
        replica:
          replicaCount: 2
        metrics:
          enabled: true
          serviceMonitor:
            enabled: true
        """, p=p), [(p, "Redis password in Helm values")])

    p1, p2 = pw_plain(20), pw_plain(20)
    C(F, "salt-sls", "salt/pillar/mysql.sls", T("""
        mysql:
          server:
            root_user: root
            root_password: §p1§
            bind-address: 0.0.0.0
            port: 3306
          database:
            - wiki
            - tracker
          user:
            wiki:
              password: '§p2§'
              host: '10.0.%'
              databases:
                - database: wiki
                  grants: ['all privileges']
        """, p1=p1, p2=p2), [(p1, "MySQL root password in pillar"), (p2, "MySQL user password in pillar")])

    s = hx(128)
    C(F, "chef-ruby", "cookbooks/storefront/attributes/default.rb", T("""
        default['storefront']['user'] = 'storefront'
        default['storefront']['deploy_to'] = '/srv/storefront'
        default['storefront']['ruby_version'] = '3.2.3'
        default['storefront']['puma']['workers'] = 4
        default['storefront']['puma']['threads'] = [5, 5]
        default['storefront']['secret_key_base'] = '§s§'
        default['storefront']['redis_url'] = 'redis://cache.internal:6379/2'
        default['storefront']['sidekiq']['concurrency'] = 10
        """, s=s), [(s, "Rails secret_key_base in Chef attributes")])

    p = pw().replace("'", "")
    C(F, "puppet", "manifests/db.pp", T("""
        class profile::db {
          class { 'postgresql::server':
            listen_addresses  => '*',
            postgres_password => '§p§',
          }

          postgresql::server::db { 'gitea':
            user     => 'gitea',
            password => postgresql::postgresql_password('gitea', '§p§'),
          }

          postgresql::server::pg_hba_rule { 'gitea from app subnet':
            type        => 'host',
            database    => 'gitea',
            user        => 'gitea',
            address     => '10.10.0.0/24',
            auth_method => 'scram-sha-256',
          }
        }
        """, p=p), [(p, "Postgres password in Puppet manifest")])

    p = pw().replace('"', "").replace("\\", "")
    C(F, "cue", "deploy/cue/grafana.cue", T("""
        package deploy

        grafana: {
        	image:    "grafana/grafana:10.4.2"
        	replicas: 1
        	env: {
        		GF_SERVER_ROOT_URL:         "https://grafana.example.com"
        		GF_SECURITY_ADMIN_USER:     "admin"
        		GF_SECURITY_ADMIN_PASSWORD: "§p§"
        		GF_AUTH_ANONYMOUS_ENABLED:  "false"
        	}
        	resources: requests: {cpu: "100m", memory: "256Mi"}
        }
        """, p=p), [(p, "Grafana admin password in CUE")])

    p, k = pw_plain(22), hx(32)
    C(F, "jsonnet", "environments/prod/secrets.libsonnet", T("""
        // TODO: move to sealed secrets
        {
          grafana: {
            adminUser: 'admin',
            adminPassword: '§p§',
          },
          alerting: {
            opsgenieApiKey: '§k§',
            slackChannel: '#alerts-prod',
          },
          retentionDays: 30,
        }
        """, p=p, k=k), [(p, "Grafana admin password (Jsonnet)"), (k, "Opsgenie API key (Jsonnet)")])

    p = pw_plain(20)
    C(F, "dhall", "config/prod.dhall", T("""
        let Config = ./Config.dhall

        in    { port = 8080
              , db =
                { host = "pg.prod.internal"
                , port = 5432
                , dbname = "dodo"
                , user = "dodo"
                , password = "§p§"
                }
              , smtp = { host = "smtp.example.com", port = 587, user = "dodo", password = env:SMTP_PASSWORD as Text }
              }
            : Config
        """, p=p), [(p, "database password in Dhall")])

    p = pw_plain(16)
    C(F, "nix", "hosts/cloud/nextcloud.nix", T("""
        { config, pkgs, ... }:
        {
          services.nextcloud = {
            enable = true;
            package = pkgs.nextcloud28;
            hostName = "cloud.example.org";
            https = true;
            config = {
              dbtype = "pgsql";
              adminuser = "root";
              adminpassFile = "${pkgs.writeText "adminpass" "§p§"}";
            };
            maxUploadSize = "4G";
          };
        }
        """, p=p), [(p, "admin password written into Nix store")])

    p = pw_plain(20)
    C(F, "gitlab-ci", ".gitlab-ci.yml", T("""
        stages: [build, deploy]

        variables:
          DOCKER_DRIVER: overlay2
          DEPLOY_HOST: app01.example.com
          DEPLOY_USER: deploy
          DEPLOY_PASSWORD: "§p§"

        build:
          stage: build
          image: docker:24
          services: [docker:24-dind]
          script:
            - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA .
            - docker push $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA

        deploy:
          stage: deploy
          script:
            - sshpass -e ssh $DEPLOY_USER@$DEPLOY_HOST "./deploy.sh $CI_COMMIT_SHORT_SHA"
          variables:
            SSHPASS: $DEPLOY_PASSWORD
          only: [main]
        """, p=p), [(p, "deploy password in CI variables")])

    p = pw_plain(24)
    C(F, "bitbucket-pipelines", "bitbucket-pipelines.yml", T("""
        image: maven:3.9-eclipse-temurin-17

        definitions:
          caches:
            sonar: ~/.sonar/cache

        pipelines:
          branches:
            main:
              - step:
                  name: Build and publish
                  caches: [maven]
                  script:
                    - export ARTIFACTORY_USER=ci-publisher
                    - export ARTIFACTORY_PASSWORD=§p§
                    - mvn -B -s .mvn/settings.xml deploy
                  artifacts:
                    - target/*.jar
        """, p=p), [(p, "Artifactory password in pipeline")])

    p = pw_plain(22)
    C(F, "tekton-yaml", "tekton/tasks/push-image.yaml", T("""
        apiVersion: tekton.dev/v1
        kind: Task
        metadata:
          name: push-image
        spec:
          params:
            - name: image
              type: string
          workspaces:
            - name: source
          steps:
            - name: push
              image: quay.io/buildah/stable:v1.35
              workingDir: $(workspaces.source.path)
              env:
                - name: REGISTRY_USER
                  value: tekton-bot
                - name: REGISTRY_PASSWORD
                  value: "§p§"
              script: |
                buildah login -u "$REGISTRY_USER" -p "$REGISTRY_PASSWORD" registry.example.com
                buildah bud -t $(params.image) .
                buildah push $(params.image)
        """, p=p), [(p, "registry password in Tekton Task")])

    p = pw_plain(20)
    C(F, "argocd-yaml", "argocd/repos/infra-repo.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: repo-infra
          namespace: argocd
          labels:
            argocd.argoproj.io/secret-type: repository
        stringData:
          type: git
          url: https://git.example.com/platform/infra.git
          username: argocd
          password: §p§
        """, p=p), [(p, "ArgoCD repository password")])

    p = pw_plain(20)
    C(F, "flux-yaml", "clusters/home/apps/minio.yaml", T("""
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata:
          name: minio
          namespace: storage
        spec:
          interval: 30m
          chart:
            spec:
              chart: minio
              version: 5.2.0
              sourceRef:
                kind: HelmRepository
                name: minio
                namespace: flux-system
          values:
            rootUser: admin
            rootPassword: §p§
            persistence:
              size: 500Gi
            mode: standalone
        """, p=p), [(p, "MinIO root password in HelmRelease values")])

    p = pw().replace("*", "x").replace("`", "")
    C(F, "asciidoc", "docs/staging-environment.adoc", T("""
        = Staging environment
        :toc: left
        :icons: font

        == Access

        The staging cluster is reachable at https://staging.example.com.

        [cols="1,2"]
        |===
        | Admin user | `admin`
        | Admin password | `§p§`
        | Grafana | https://grafana.staging.example.com
        |===

        NOTE: Staging data is reset every Sunday at 02:00 UTC.

        == Deploying

        Merge to `main`; ArgoCD syncs automatically.
        """, p=p), [(p, "admin password in AsciiDoc table")])

    p = pw().replace("'", "")
    C(F, "python", "docs/conf.py", T("""
        # Sphinx configuration
        project = "Platform Handbook"
        author = "Platform Team"
        extensions = ["sphinx.ext.autodoc", "sphinxcontrib.confluencebuilder", "myst_parser"]

        html_theme = "furo"

        confluence_publish = True
        confluence_space_key = "PLAT"
        confluence_server_url = "https://wiki.example.com/"
        confluence_server_user = "docs-publisher"
        confluence_server_pass = '§p§'
        confluence_parent_page = "Platform Handbook"
        """, p=p), [(p, "Confluence password in Sphinx conf.py")])

    k = b64c(44)
    C(F, "objective-c", "Vault/VLTCrypto.m", T("""
        #import "VLTCrypto.h"
        #import <CommonCrypto/CommonCryptor.h>

        // AES key used to encrypt cached records on device
        static NSString * const kRecordKeyBase64 = @"§k§";

        @implementation VLTCrypto

        + (NSData *)recordKey {
            return [[NSData alloc] initWithBase64EncodedString:kRecordKeyBase64 options:0];
        }

        @end
        """, k=k), [(k, "hard-coded AES key")])

    p = pw_plain(18)
    C(F, "sql-dump", "db/dumps/crm_settings.sql", T("""
        -- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
        --
        -- Host: localhost    Database: crm
        -- ------------------------------------------------------
        /*!40101 SET NAMES utf8mb4 */;

        DROP TABLE IF EXISTS `settings`;
        CREATE TABLE `settings` (
          `name` varchar(64) NOT NULL,
          `value` text,
          PRIMARY KEY (`name`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

        LOCK TABLES `settings` WRITE;
        INSERT INTO `settings` VALUES ('company_name','Northwind Traders'),('smtp_host','smtp.example.com'),('smtp_user','crm@example.com'),('smtp_password','§p§'),('timezone','Europe/Berlin');
        UNLOCK TABLES;

        DROP TABLE IF EXISTS `users`;
        CREATE TABLE `users` (`id` int NOT NULL, `email` varchar(190), `password_hash` varchar(255));
        INSERT INTO `users` VALUES (1,'admin@example.com','$2y$12$§h§');
        -- Dump completed on 2024-04-11 22:10:03
        """, p=p, h=rs(B62 + "./", 53)), [(p, "SMTP password in SQL dump")])

    p = pw_plain(20)
    C(F, "kustomize", "overlays/prod/kustomization.yaml", T("""
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: wiki
        resources:
          - ../../base
        images:
          - name: wikijs
            newTag: "2.5.303"
        secretGenerator:
          - name: wiki-db
            literals:
              - DB_USER=wiki
              - DB_PASS=§p§
        generatorOptions:
          disableNameSuffixHash: false
        """, p=p), [(p, "DB password in secretGenerator literal")])

    p = pw_plain(20)
    C(F, "docker-swarm-yaml", "stack/keycloak-stack.yml", T("""
        version: "3.9"
        services:
          keycloak:
            image: quay.io/keycloak/keycloak:24.0
            command: start --optimized
            environment:
              KC_DB: postgres
              KC_DB_URL_HOST: db
              KC_DB_USERNAME: keycloak
              KC_DB_PASSWORD: §p§
              KEYCLOAK_ADMIN: admin
              KEYCLOAK_ADMIN_PASSWORD: §p§
            deploy:
              replicas: 2
              placement:
                constraints: [node.role == worker]
          db:
            image: postgres:16
            environment:
              POSTGRES_PASSWORD: §p§
        """, p=p), [(p, "Keycloak/DB password in swarm stack")])

    mk = hx(32)
    C(F, "rails-master-key", "config/master.key", mk, [(mk, "Rails master key")])

    # ---- hard negatives ----
    C(F, "pulumi-yaml", "infra/Pulumi.prod.yaml", T("""
        encryptionsalt: v1:§salt§
        config:
          aws:region: eu-west-1
          infra:clusterName: prod
          infra:dbUser: app
          infra:dbPassword:
            secure: v1:§a§
          infra:apiToken:
            secure: v1:§b§
          infra:replicas: "3"
        """, salt=b64(rbytes(12)) + ":v1:" + b64(rbytes(12)) + ":" + b64(rbytes(32)), a=b64(rbytes(40)), b=b64(rbytes(56))))

    C(F, "k8s-yaml", "k8s/apps/payments/deployment.yaml", T("""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: payments
          namespace: payments
        spec:
          replicas: 3
          selector:
            matchLabels: { app: payments }
          template:
            metadata:
              labels: { app: payments }
            spec:
              containers:
                - name: api
                  image: registry.example.com/payments/api:4.2.0
                  env:
                    - name: DB_PASSWORD
                      valueFrom:
                        secretKeyRef: { name: payments-env, key: DB_PASSWORD }
                  envFrom:
                    - secretRef: { name: payments-extra }
        """))

    C(F, "kustomize", "overlays/staging/kustomization.yaml", T("""
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: wiki-staging
        resources:
          - ../../base
        secretGenerator:
          - name: wiki-db
            envs:
              - secrets/db.env   # git-ignored, decrypted by `make secrets`
          - name: wiki-tls
            files:
              - tls.crt=secrets/tls.crt
              - tls.key=secrets/tls.key
        """))

    C(F, "docker-swarm-yaml", "stack/app-stack.yml", T("""
        version: "3.9"
        services:
          app:
            image: registry.example.com/app:2.3.1
            environment:
              DB_PASSWORD_FILE: /run/secrets/db_password
              API_TOKEN_FILE: /run/secrets/api_token
            secrets: [db_password, api_token]
            deploy: { replicas: 3 }
        secrets:
          db_password:
            external: true
          api_token:
            external: true
        """))

    C(F, "python", "app/settings.py", T("""
        import os
        from getpass import getpass

        SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
        DATABASES = {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": os.getenv("DB_NAME", "app"),
                "USER": os.getenv("DB_USER", "app"),
                "PASSWORD": os.environ.get("DB_PASSWORD") or getpass("DB password: "),
            }
        }
        PASSWORD_RESET_TIMEOUT = 3600
        AUTH_PASSWORD_VALIDATORS = [
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
        ]
        PASSWORD_FIELD = "password"
        """))

    C(F, "hocon", "conf/application.conf", T("""
        secret-key = "changeme"
        secret-key = ${?SECRET_KEY}

        database = {
          jdbc-url = "jdbc:postgresql://localhost/app"
          jdbc-url = ${?JDBC_URL}
          username = "postgres"
          username = ${?JDBC_USER}
          password = "postgres"
          password = ${?JDBC_PASSWORD}
        }

        http {
          port = 8080
          port = ${?PORT}
        }
        """))

    C(F, "gitlab-ci", "ci/deploy.gitlab-ci.yml", T("""
        deploy:
          stage: deploy
          image: alpine:3.19
          variables:
            DEPLOY_HOST: app01.example.com
          id_tokens:
            VAULT_ID_TOKEN:
              aud: https://vault.example.com
          secrets:
            DEPLOY_PASSWORD:
              vault: deploy/app01/password@kv
              file: false
          script:
            - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
            - ./deploy.sh
        """))

    C(F, "crash-log", "logs/crash-2024-06-02T1130.log", T("""
        [2024-06-02 11:30:44,102] ERROR worker: unhandled exception in job export-7713
        Traceback (most recent call last):
          File "/app/worker/jobs.py", line 88, in run
            client.upload(path)
          File "/app/worker/s3.py", line 31, in upload
            raise UploadError(resp.status)
        worker.s3.UploadError: 503

        --- environment (sensitive values masked) ---
        DJANGO_SECRET_KEY=********
        DATABASE_PASSWORD=********
        AWS_SECRET_ACCESS_KEY=****************************************
        AWS_REGION=eu-west-1
        --- end environment ---
        """))


# =====================================================================
# key-material-files
# =====================================================================

def fam_keymat():
    F = "key-material-files"
    C(F, "jks", "android/app/upload-keystore.jks", None, [(None, "Android upload keystore (JKS, private key entry)")],
      keystore=True, data=jks_bytes([("key", "upload")]))
    C(F, "pkcs12", "certs/client-mtls.p12", None, [(None, "PKCS#12 client cert + key")], keystore=True, data=pkcs12_bytes())
    C(F, "pkcs12", "deploy/iis/www.example.com.pfx", None, [(None, "PFX with server private key")], keystore=True, data=pkcs12_bytes())
    C(F, "jks", "src/main/resources/keystore.jks", None, [(None, "JKS with server key")], keystore=True,
      data=jks_bytes([("key", "tomcat"), ("cert", "intermediate")]))
    C(F, "jceks", "conf/secrets.jceks", None, [(None, "JCEKS keystore")], keystore=True,
      data=jks_bytes([("key", "hadoop.security.credential")], magic=0xCECECECE))
    C(F, "pkcs12", "android/app/release.keystore", None, [(None, "Android release keystore (PKCS#12)")], keystore=True,
      data=pkcs12_bytes())

    pubb = b64(ed25519_pub_blob())
    priv = [b64(sshstr(rbytes(32)))]
    C(F, "ppk", "keys/jenkins-agent.ppk", T("""
        PuTTY-User-Key-File-3: ssh-ed25519
        Encryption: none
        Comment: jenkins-agent@win-build-02
        Public-Lines: 2
        §p1§
        §p2§
        Private-Lines: 1
        §pr§
        Private-MAC: §mac§
        """, p1=pubb[:64], p2=pubb[64:], pr=priv[0], mac=hx(64)), [(priv[0], "PuTTY private key")])

    pk = b64(rbytes(32))
    C(F, "wireguard-conf", "vpn/wg0.conf", T("""
        [Interface]
        Address = 10.8.0.1/24
        ListenPort = 51820
        PrivateKey = §pk§
        PostUp = iptables -A FORWARD -i wg0 -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
        PostDown = iptables -D FORWARD -i wg0 -j ACCEPT; iptables -t nat -D POSTROUTING -o eth0 -j MASQUERADE

        [Peer]
        # laptop
        PublicKey = §p1§
        AllowedIPs = 10.8.0.2/32

        [Peer]
        # phone
        PublicKey = §p2§
        PresharedKey = §psk§
        AllowedIPs = 10.8.0.3/32
        """, pk=pk, p1=b64(rbytes(32)), p2=b64(rbytes(32)), psk=(psk := b64(rbytes(32)))),
      [(pk, "WireGuard private key"), (psk, "WireGuard preshared key")])

    bech = "023456789acdefghjklmnpqrstuvwxyz"
    ak = "AGE-SECRET-KEY-1" + rs(bech, 58).upper()
    C(F, "age-key", "secrets/keys/age-ci.txt", T("""
        # created: 2024-02-19T10:44:12+01:00
        # public key: age1§pub§
        §ak§
        """, pub=rs(bech, 58), ak=ak), [(ak, "age secret key")])

    kk = pem("PRIVATE KEY", rsa_pkcs8())
    ta = "-----BEGIN OpenVPN Static key V1-----\n" + "\n".join(hx(32) for _ in range(16)) + "\n-----END OpenVPN Static key V1-----"
    C(F, "ovpn", "vpn/clients/mvoss.ovpn", T("""
        client
        dev tun
        proto udp
        remote vpn.example.com 1194
        resolv-retry infinite
        nobind
        persist-key
        persist-tun
        remote-cert-tls server
        cipher AES-256-GCM
        verb 3
        key-direction 1
        <ca>
        §ca§
        </ca>
        <cert>
        §crt§
        </cert>
        <key>
        §kk§
        </key>
        <tls-auth>
        §ta§
        </tls-auth>
        """, ca=cert_pem(), crt=cert_pem(), kk=kk, ta=ta),
      [(kk.split("\n")[0], "client private key in .ovpn"), (ta.split("\n")[0], "OpenVPN tls-auth static key")])

    sp, kp = pw_plain(16), pw_plain(16)
    C(F, "java-properties", "android/key.properties", T("""
        storePassword=§sp§
        keyPassword=§kp§
        keyAlias=upload
        storeFile=/Users/build/keys/upload-keystore.jks
        """, sp=sp, kp=kp), [(sp, "keystore password"), (kp, "key password")])

    d = HX(512)
    C(F, "gpg-agent-key", "home/build/.gnupg/private-keys-v1.d/" + HX(40) + ".key", T("""
        Created: 20240301T101500
        Key: (private-key (rsa (n #00§n§#)(e #010001#)
         (d #§d§#)
         (p #00§p§#)
         (q #00§q§#)
         (u #§u§#)))
        """, n=HX(512), d=d, p=HX(256), q=HX(256), u=HX(256)), [(d, "GnuPG private key (extended key format)")])

    # ---- hard negatives ----
    CASES.append({"family": F, "format": "jks", "path": "src/main/resources/truststore.jks",
                  "raw": jks_bytes([("cert", "corp-root-ca"), ("cert", "corp-issuing-ca-2")]), "secrets": [], "short": "truststore.jks"})

    C(F, "pem", "certs/chain.pem", cert_pem() + "\n" + cert_pem() + "\n")

    C(F, "markdown", "docs/vpn/wireguard-client.md", T("""
        # WireGuard client setup

        Create `/etc/wireguard/wg0.conf`:

        ```ini
        [Interface]
        PrivateKey = <your-client-private-key>
        Address = 10.8.0.X/32
        DNS = 10.8.0.1

        [Peer]
        PublicKey = §pub§
        Endpoint = vpn.example.com:51820
        AllowedIPs = 10.0.0.0/8
        ```

        Generate your key with `wg genkey | tee privatekey | wg pubkey > publickey`
        and send **only** `publickey` to the infra team.
        """, pub=b64(rbytes(32))))

    C(F, "java-properties", "android/key.properties.example", T("""
        # Copy to key.properties (git-ignored) and fill in.
        storePassword=<store password>
        keyPassword=<key password>
        keyAlias=upload
        storeFile=<absolute path to upload-keystore.jks>
        """))

    C(F, "ovpn", "vpn/clients/template.ovpn", T("""
        client
        dev tun
        proto udp
        remote vpn.example.com 1194
        nobind
        persist-key
        persist-tun
        remote-cert-tls server
        auth-user-pass
        auth-nocache
        cipher AES-256-GCM
        <ca>
        §ca§
        </ca>
        """, ca=cert_pem()))

    C(F, "age-recipients", ".sops/recipients.txt", T("""
        # age recipients allowed to decrypt prod secrets
        # ci
        age1§a§
        # mvoss
        age1§b§
        # ana
        age1§c§
        """, a=rs(bech, 58), b=rs(bech, 58), c=rs(bech, 58)))


# =====================================================================
# public-material (all negatives)
# =====================================================================

def fam_public():
    F = "public-material"
    C(F, "authorized-keys", "ansible/roles/users/files/authorized_keys", "\n".join([
        ssh_ed25519_pub("mvoss@laptop"), ssh_rsa_pub("ana@workstation"),
        'from="10.0.0.0/8",no-agent-forwarding ' + ssh_ed25519_pub("backup@nas"),
        ssh_ed25519_pub("ci@runner-02")]) + "\n")
    C(F, "known-hosts", "ops/ssh/known_hosts", "\n".join([
        "github.com " + ssh_ed25519_pub(""),
        "gitlab.example.com,10.0.4.12 " + ssh_ed25519_pub(""),
        "|1|" + b64(rbytes(20)) + "|" + b64(rbytes(20)) + " " + ssh_rsa_pub(""),
        "[bastion.example.com]:2222 ecdsa-sha2-nistp256 " + b64(sshstr("ecdsa-sha2-nistp256") + sshstr("nistp256") + sshstr(b"\x04" + rbytes(64)))]) + "\n")
    C(F, "ssh-public-key", "keys/deploy_ed25519.pub", ssh_ed25519_pub("deploy@ci") + "\n")
    C(F, "pem", "certs/ca.crt", cert_pem() + "\n")
    C(F, "pem", "keys/jwt-public.pem", pem("PUBLIC KEY", rsa_spki()) + "\n")
    jwks = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": hx(16),
                      "n": base64.urlsafe_b64encode(rbytes(256)).decode().rstrip("="), "e": "AQAB"},
                     {"kty": "EC", "use": "sig", "alg": "ES256", "kid": hx(16), "crv": "P-256",
                      "x": base64.urlsafe_b64encode(rbytes(32)).decode().rstrip("="),
                      "y": base64.urlsafe_b64encode(rbytes(32)).decode().rstrip("=")}]}
    C(F, "jwks-json", "public/.well-known/jwks.json", json.dumps(jwks, indent=2) + "\n")
    C(F, "pgp-asc", "KEYS", T("""
        This file contains the PGP keys of developers who have signed releases.

        Users:  gpg --import KEYS
        Developers: (gpg --list-sigs <your name> && gpg --armor --export <your name>) >> KEYS

        pub   rsa4096 2021-03-02 [SC]
              §fp§
        uid           [ultimate] Release Manager <release@example.org>

        §blk§
        """, fp=HX(40), blk=pgp_block("PUBLIC KEY BLOCK", 1500, b"\x99\x02\x0d")))
    C(F, "pem", "cosign.pub", pem("PUBLIC KEY", b"\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00\x04" + rbytes(64)) + "\n")
    C(F, "minisign-pub", "minisign.pub", "untrusted comment: minisign public key " + HX(16) + "\n" + "RWQ" + b64(rbytes(39)) + "\n")
    C(F, "javascript", "src/firebase.js", T("""
        import { initializeApp } from "firebase/app";
        import { getAuth } from "firebase/auth";
        import { getFirestore } from "firebase/firestore";

        const firebaseConfig = {
          apiKey: "AIza§k§",
          authDomain: "hearth-prod.firebaseapp.com",
          projectId: "hearth-prod",
          storageBucket: "hearth-prod.appspot.com",
          messagingSenderId: "§sid§",
          appId: "1:§sid§:web:§app§",
          measurementId: "G-§m§",
        };

        export const app = initializeApp(firebaseConfig);
        export const auth = getAuth(app);
        export const db = getFirestore(app);
        """, k=b64u(35), sid=dig(12), app=hx(22), m=upd(10)))
    C(F, "javascript", "docusaurus.config.js", T("""
        // @ts-check
        /** @type {import('@docusaurus/types').Config} */
        const config = {
          title: 'Tidepool Docs',
          url: 'https://docs.tidepool.example',
          baseUrl: '/',
          themeConfig: {
            algolia: {
              appId: '§app§',
              // Public API key: it is safe to commit it
              apiKey: '§k§',
              indexName: 'tidepool',
              contextualSearch: true,
            },
          },
        };

        module.exports = config;
        """, app=upd(10), k=hx(32)))
    C(F, "dart", "lib/map/map_config.dart", T("""
        import 'package:mapbox_maps_flutter/mapbox_maps_flutter.dart';

        class MapConfig {
          static const accessToken =
              'pk.§t§';
          static const styleUri = 'mapbox://styles/tidepool/clq2x8f9k00ab01qy7d4m2c1e';
          static const initialZoom = 11.5;

          static void init() {
            MapboxOptions.setAccessToken(accessToken);
          }
        }
        """, t=b64u(60) + "." + b64u(22)))
    C(F, "html", "templates/checkout.html", T("""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Checkout</title>
          <script src="https://js.stripe.com/v3/"></script>
          <script src="https://www.google.com/recaptcha/api.js" async defer></script>
        </head>
        <body>
          <form id="payment-form">
            <div id="card-element"></div>
            <div class="g-recaptcha" data-sitekey="6Lc§rc§"></div>
            <button type="submit">Pay</button>
          </form>
          <script>
            const stripe = Stripe('pk_live_§pk§');
            const elements = stripe.elements();
            elements.create('card').mount('#card-element');
          </script>
        </body>
        </html>
        """, rc=b64u(37), pk=b62(99)))
    C(F, "javascript", "src/sentry.client.js", T("""
        import * as Sentry from "@sentry/browser";

        Sentry.init({
          dsn: "https://§k§@o§org§.ingest.sentry.io/§proj§",
          release: process.env.RELEASE,
          environment: process.env.NODE_ENV,
          tracesSampleRate: 0.1,
          replaysSessionSampleRate: 0.0,
          replaysOnErrorSampleRate: 1.0,
          integrations: [Sentry.browserTracingIntegration()],
        });
        """, k=hx(32), org=dig(6), proj=dig(7)))
    C(F, "sops-yaml", ".sops.yaml", T("""
        creation_rules:
          - path_regex: clusters/prod/.*\\.sops\\.yaml$
            encrypted_regex: ^(data|stringData)$
            age: >-
              age1§a§,
              age1§b§
          - path_regex: terraform/.*\\.tfvars\\.enc$
            kms: arn:aws:kms:eu-west-1:§acct§:key/§kid§
            pgp: §fp§
        """, a=rs("023456789acdefghjklmnpqrstuvwxyz", 58), b=rs("023456789acdefghjklmnpqrstuvwxyz", 58), acct=dig(12), kid=uuid4(), fp=HX(40)))
    C(F, "xml", "app/src/main/res/xml/network_security_config.xml", T("""
        <?xml version="1.0" encoding="utf-8"?>
        <network-security-config>
            <domain-config cleartextTrafficPermitted="false">
                <domain includeSubdomains="true">api.tidepool.example</domain>
                <pin-set expiration="2026-01-01">
                    <pin digest="SHA-256">§p1§</pin>
                    <!-- backup pin -->
                    <pin digest="SHA-256">§p2§</pin>
                </pin-set>
            </domain-config>
        </network-security-config>
        """, p1=b64(rbytes(32)), p2=b64(rbytes(32))))
    C(F, "k8s-yaml", "k8s/base/ca-configmap.yaml", T("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: corp-ca-bundle
          namespace: default
        data:
          ca.crt: |
        §c§
        """, c=indent(cert_pem(), 4)))
    cert_b64 = b64(cert_der())
    C(F, "saml-metadata", "sso/idp-metadata.xml", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml2/idp/metadata.php">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:KeyDescriptor use="signing">
              <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
                <ds:X509Data>
                  <ds:X509Certificate>§c§</ds:X509Certificate>
                </ds:X509Data>
              </ds:KeyInfo>
            </md:KeyDescriptor>
            <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/saml2/idp/SSOService.php"/>
          </md:IDPSSODescriptor>
        </md:EntityDescriptor>
        """, c=cert_b64))
    C(F, "wireguard-conf", "vpn/peers.conf", T("""
        # peer list (public keys only), merged into wg0.conf by ansible
        [Peer]
        # office
        PublicKey = §a§
        AllowedIPs = 10.8.1.0/24
        Endpoint = office.example.com:51820

        [Peer]
        # ci-runner
        PublicKey = §b§
        AllowedIPs = 10.8.0.10/32
        PersistentKeepalive = 25
        """, a=b64(rbytes(32)), b=b64(rbytes(32))))
    C(F, "json", "public/.well-known/openid-configuration", json.dumps({
        "issuer": "https://id.example.com", "authorization_endpoint": "https://id.example.com/oauth2/authorize",
        "token_endpoint": "https://id.example.com/oauth2/token", "jwks_uri": "https://id.example.com/.well-known/jwks.json",
        "userinfo_endpoint": "https://id.example.com/userinfo", "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": ["openid", "email", "profile", "offline_access"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"]}, indent=2) + "\n")
    C(F, "terraform-hcl", "terraform/github/deploy_keys.tf", T("""
        resource "github_repository_deploy_key" "argocd" {
          title      = "argocd (read-only)"
          repository = "infra"
          key        = "§k§"
          read_only  = true
        }

        resource "github_repository_deploy_key" "backup" {
          title      = "backup mirror"
          repository = "infra"
          key        = "§k2§"
          read_only  = true
        }
        """, k=ssh_ed25519_pub("argocd"), k2=ssh_rsa_pub("backup")))
    C(F, "nix", "hosts/common/users.nix", T("""
        { pkgs, ... }:
        {
          users.users.mvoss = {
            isNormalUser = true;
            extraGroups = [ "wheel" "docker" ];
            shell = pkgs.zsh;
            openssh.authorizedKeys.keys = [
              "§a§"
              "§b§"
            ];
          };
          security.sudo.wheelNeedsPassword = false;
        }
        """, a=ssh_ed25519_pub("mvoss@laptop"), b=ssh_ed25519_pub("mvoss@yubikey")))
    C(F, "cloud-init", "cloud-init/user-data.yaml", T("""
        #cloud-config
        hostname: runner-07
        users:
          - name: ops
            groups: [sudo, docker]
            shell: /bin/bash
            sudo: ["ALL=(ALL) NOPASSWD:ALL"]
            ssh_authorized_keys:
              - §a§
              - §b§
        package_update: true
        packages: [docker.io, jq, unzip]
        runcmd:
          - systemctl enable --now docker
        """, a=ssh_ed25519_pub("ops@laptop"), b=ssh_rsa_pub("ops@old")))
    C(F, "zone-file", "dns/example.org.zone", T("""
        $ORIGIN example.org.
        $TTL 3600
        @        IN SOA ns1.example.org. hostmaster.example.org. ( 2024051401 7200 3600 1209600 3600 )
        @        IN NS  ns1.example.org.
        @        IN NS  ns2.example.org.
        @        IN MX  10 mx.example.org.
        @        IN TXT "v=spf1 mx include:_spf.mailer.example -all"
        mail2024._domainkey IN TXT ( "v=DKIM1; k=rsa; "
                  "p=§p1§"
                  "§p2§" )
        _dmarc   IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.org"
        www      IN CNAME example.org.
        """, p1=b64(rsa_spki())[:200], p2=b64(rsa_spki())[200:392]))
    C(F, "plist", "ios/Runner/GoogleService-Info.plist", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
        <plist version="1.0">
        <dict>
        	<key>CLIENT_ID</key>
        	<string>§n§-§c§.apps.googleusercontent.com</string>
        	<key>REVERSED_CLIENT_ID</key>
        	<string>com.googleusercontent.apps.§n§-§c§</string>
        	<key>API_KEY</key>
        	<string>AIza§k§</string>
        	<key>GCM_SENDER_ID</key>
        	<string>§n§</string>
        	<key>BUNDLE_ID</key>
        	<string>com.tidepool.app</string>
        	<key>PROJECT_ID</key>
        	<string>hearth-prod</string>
        	<key>GOOGLE_APP_ID</key>
        	<string>1:§n§:ios:§g§</string>
        </dict>
        </plist>
        """, n=dig(12), c=rs(LO + DIG, 32), k=b64u(35), g=hx(22)))
    C(F, "markdown", "SECURITY.md", T("""
        # Security Policy

        ## Reporting a vulnerability

        Email security@example.org. Encrypt sensitive reports with our key:

        * Fingerprint: `§fp§`
        * Key: https://example.org/.well-known/security-key.asc

        ```
        §blk§
        ```

        We aim to acknowledge within 2 business days.
        """, fp=" ".join(HX(4) for _ in range(10)), blk=pgp_block("PUBLIC KEY BLOCK", 600, b"\x98\x33\x04")))
    C(F, "pem", "certs/api.example.com.csr", pem("CERTIFICATE REQUEST", b"\x30\x82\x02\x9a\x30\x82\x01\x82\x02\x01\x00" + rbytes(660)) + "\n")
    root = {"signed": {"_type": "root", "consistent_snapshot": False, "expires": "2026-08-01T00:00:00Z",
                       "keys": {hx(64): {"keytype": "ecdsa-sha2-nistp256", "scheme": "ecdsa-sha2-nistp256",
                                         "keyval": {"public": pem("PUBLIC KEY", b"\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00\x04" + rbytes(64))}}},
                       "roles": {"root": {"keyids": [hx(64)], "threshold": 1}}, "spec_version": "1.0.31", "version": 5},
            "signatures": [{"keyid": hx(64), "sig": hx(142)}]}
    C(F, "json", "tuf/metadata/root.json", json.dumps(root, indent=2) + "\n")
    C(F, "pgp-asc", "dist/tidepool-2.4.1.tar.gz.asc", pgp_block("SIGNATURE", 520, b"\x89\x02\x33") + "\n")
    C(F, "pem", "certs/fullchain.pem", "\n".join([cert_pem(), cert_pem(), cert_pem()]) + "\n")
    anon = jwt_like({"iss": "supabase", "ref": rs(LO, 20), "role": "anon", "iat": 1700000000, "exp": 2015576000})
    C(F, "dotenv", "web/.env.local", T("""
        NEXT_PUBLIC_SUPABASE_URL=https://§ref§.supabase.co
        NEXT_PUBLIC_SUPABASE_ANON_KEY=§anon§
        NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY=pk_live_§clk§
        NEXT_PUBLIC_POSTHOG_KEY=phc_§ph§
        NEXT_PUBLIC_POSTHOG_HOST=https://eu.posthog.com
        """, ref=rs(LO, 20), anon=anon, clk=b64(b"clerk.tidepool.example$").rstrip("="), ph=b62(43)))
    C(F, "markdown", "docs/verify-release.md", T("""
        # Verifying a release

        ```console
        $ gpg --keyserver hkps://keys.openpgp.org --recv-keys §fp§
        $ gpg --verify tidepool-2.4.1.tar.gz.asc tidepool-2.4.1.tar.gz
        gpg: Signature made Tue 14 May 2024 10:02:11 CEST
        gpg:                using RSA key §fp§
        gpg: Good signature from "Release Manager <release@example.org>" [unknown]
        $ sha256sum -c SHA256SUMS --ignore-missing
        tidepool-2.4.1.tar.gz: OK
        $ cosign verify-blob --key cosign.pub --signature tidepool-2.4.1.tar.gz.sig tidepool-2.4.1.tar.gz
        Verified OK
        ```
        """, fp=HX(40)))
    C(F, "ssh-public-key", "keys/legacy_rsa.pub", ssh_rsa_pub("legacy@build") + "\n")
    C(F, "json", "app/src/main/assets/certificate_pins.json", json.dumps({
        "pins": [{"host": "api.tidepool.example", "sha256": [b64(rbytes(32)), b64(rbytes(32))]},
                 {"host": "cdn.tidepool.example", "sha256": [b64(rbytes(32))]}],
        "expires": "2026-01-01"}, indent=2) + "\n")


# =====================================================================
# non-secrets (all negatives)
# =====================================================================

def fam_nonsecret():
    F = "non-secrets"
    C(F, "dotenv", ".env.example", T("""
        # Copy to .env and fill in real values
        APP_ENV=local
        APP_KEY=
        DATABASE_URL=postgres://user:password@localhost:5432/app
        REDIS_URL=redis://localhost:6379/0
        STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx
        SENDGRID_API_KEY=<your-sendgrid-key>
        GITHUB_TOKEN=changeme
        AWS_ACCESS_KEY_ID=your-access-key-id
        AWS_SECRET_ACCESS_KEY=your-secret-access-key
        JWT_SECRET=replace-me-with-64-random-bytes
        """))
    C(F, "helm-yaml", "charts/api/values.yaml", T("""
        replicaCount: 2
        image:
          repository: registry.example.com/api
          tag: ""
        postgresql:
          auth:
            existingSecret: api-postgres
            secretKeys:
              adminPasswordKey: postgres-password
              userPasswordKey: password
        redis:
          auth:
            enabled: true
            existingSecret: api-redis
            existingSecretPasswordKey: redis-password
        ingress:
          enabled: true
          hosts: [api.example.com]
        """))
    enc = lambda n: "ENC[AES256_GCM,data:" + b64(rbytes(n)) + ",iv:" + b64(rbytes(32)) + ",tag:" + b64(rbytes(16)) + ",type:str]"
    C(F, "sops-yaml", "secrets/prod.enc.yaml", T("""
        db:
            user: ENC[AES256_GCM,data:§u§,iv:§iv§,tag:§tag§,type:str]
            password: §p§
        stripe:
            secret_key: §s§
        sops:
            kms:
                - arn: arn:aws:kms:eu-west-1:§acct§:key/§kid§
                  created_at: "2024-03-01T09:12:44Z"
                  enc: §kenc§
                  aws_profile: ""
            lastmodified: "2024-05-12T10:01:55Z"
            mac: §mac§
            unencrypted_suffix: _unencrypted
            version: 3.8.1
        """, u=b64(rbytes(6)), iv=b64(rbytes(32)), tag=b64(rbytes(16)), p=enc(24), s=enc(80), acct=dig(12), kid=uuid4(),
        kenc=b64(rbytes(180)), mac=enc(32)))
    vault = "\n".join(hx(80) for _ in range(10))
    C(F, "ansible-vault", "inventories/prod/group_vars/all/vault.yml", "$ANSIBLE_VAULT;1.1;AES256\n" + vault + "\n")
    C(F, "k8s-yaml", "k8s/apps/payments/sealed-secret.yaml", T("""
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata:
          name: payments-env
          namespace: payments
        spec:
          encryptedData:
            DB_PASSWORD: §a§
            ADYEN_API_KEY: §b§
          template:
            metadata:
              name: payments-env
              namespace: payments
            type: Opaque
        """, a=b64(rbytes(300)), b=b64(rbytes(330))))
    C(F, "package-lock-json", "package-lock.json", json.dumps({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"name": "web", "version": "1.0.0", "dependencies": {"axios": "^1.6.8", "zod": "^3.23.8"}},
                     "node_modules/axios": {"version": "1.6.8", "resolved": "https://registry.npmjs.org/axios/-/axios-1.6.8.tgz",
                                            "integrity": "sha512-" + b64(rbytes(64)), "dependencies": {"follow-redirects": "^1.15.6"}},
                     "node_modules/follow-redirects": {"version": "1.15.6", "resolved": "https://registry.npmjs.org/follow-redirects/-/follow-redirects-1.15.6.tgz",
                                                       "integrity": "sha512-" + b64(rbytes(64))},
                     "node_modules/zod": {"version": "3.23.8", "resolved": "https://registry.npmjs.org/zod/-/zod-3.23.8.tgz",
                                          "integrity": "sha512-" + b64(rbytes(64))}}}, indent=2) + "\n")
    mods = ["github.com/google/uuid v1.6.0", "github.com/jackc/pgx/v5 v5.5.5", "golang.org/x/crypto v0.22.0",
            "golang.org/x/sync v0.7.0", "golang.org/x/text v0.14.0", "github.com/stretchr/testify v1.9.0"]
    C(F, "go-sum", "go.sum", "".join(f"{m} h1:{b64(rbytes(32))}\n{m.split()[0]} {m.split()[1]}/go.mod h1:{b64(rbytes(32))}\n" for m in mods))
    crates = [("anyhow", "1.0.82"), ("serde", "1.0.200"), ("tokio", "1.37.0"), ("ring", "0.17.8")]
    C(F, "cargo-lock", "Cargo.lock", "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n\n" +
      "".join(f'[[package]]\nname = "{n}"\nversion = "{v}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{hx(64)}"\n\n' for n, v in crates))
    C(F, "flake-lock", "flake.lock", json.dumps({"nodes": {
        "nixpkgs": {"locked": {"lastModified": 1715266358, "narHash": "sha256-" + b64(rbytes(32)), "owner": "NixOS", "repo": "nixpkgs",
                               "rev": hx(40), "type": "github"}, "original": {"owner": "NixOS", "ref": "nixos-23.11", "repo": "nixpkgs", "type": "github"}},
        "flake-utils": {"locked": {"lastModified": 1710146030, "narHash": "sha256-" + b64(rbytes(32)), "owner": "numtide", "repo": "flake-utils",
                                   "rev": hx(40), "type": "github"}, "original": {"owner": "numtide", "repo": "flake-utils", "type": "github"}},
        "root": {"inputs": {"flake-utils": "flake-utils", "nixpkgs": "nixpkgs"}}}, "root": "root", "version": 7}, indent=2) + "\n")
    C(F, "dockerfile", "Dockerfile", T("""
        # syntax=docker/dockerfile:1.7
        FROM golang:1.22-bookworm@sha256:§a§ AS build
        WORKDIR /src
        COPY go.mod go.sum ./
        RUN --mount=type=cache,target=/go/pkg/mod go mod download
        COPY . .
        RUN --mount=type=secret,id=netrc,target=/root/.netrc CGO_ENABLED=0 go build -o /out/app ./cmd/app

        FROM gcr.io/distroless/static-debian12@sha256:§b§
        COPY --from=build /out/app /app
        USER 65532:65532
        ENTRYPOINT ["/app"]
        """, a=hx(64), b=hx(64)))
    fx = [{"model": "auth.user", "pk": i, "fields": {"username": u, "email": f"{u}@example.com",
                                                      "password": f"pbkdf2_sha256$720000${b62(22)}${b64(rbytes(32))}",
                                                      "is_staff": i == 1, "is_active": True}} for i, u in enumerate(["admin", "editor", "viewer"], 1)]
    C(F, "json", "fixtures/users.json", json.dumps(fx, indent=2) + "\n")
    C(F, "rust", "crypto/tests/hmac_vectors.rs", T("""
        //! RFC 4231 HMAC-SHA-256 test vectors.
        use hex_literal::hex;
        use hmac::{Hmac, Mac};
        use sha2::Sha256;

        #[test]
        fn rfc4231_case_1() {
            let key = hex!("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
            let data = b"Hi There";
            let expected = hex!("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(data);
            assert_eq!(mac.finalize().into_bytes()[..], expected[..]);
        }

        #[test]
        fn rfc4231_case_2() {
            let key = b"Jefe";
            let data = b"what do ya want for nothing?";
            let expected = hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(data);
            assert_eq!(mac.finalize().into_bytes()[..], expected[..]);
        }
        """))
    C(F, "python", "tests/test_client.py", T("""
        from unittest import mock

        import pytest

        from uploader.client import Client

        FAKE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
        FAKE_SECRET = "fake-secret-for-tests"


        @pytest.fixture
        def client():
            return Client(key_id=FAKE_KEY_ID, secret=FAKE_SECRET, password="hunter2-test", api_key="test-api-key")


        def test_upload_signs_request(client):
            with mock.patch("uploader.client.requests.put") as put:
                client.upload("a.txt", b"hello")
            assert put.call_args.kwargs["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256")
        """))
    C(F, "docker-compose", "docker-compose.yml", T("""
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_USER: postgres
              POSTGRES_PASSWORD: postgres
            ports: ["5432:5432"]
          minio:
            image: minio/minio:RELEASE.2024-05-10T01-41-38Z
            command: server /data --console-address ":9001"
            environment:
              MINIO_ROOT_USER: minioadmin
              MINIO_ROOT_PASSWORD: minioadmin
            ports: ["9000:9000", "9001:9001"]
          mailhog:
            image: mailhog/mailhog
            ports: ["8025:8025"]
        """))
    C(F, "github-actions", ".github/workflows/deploy.yml", T("""
        name: deploy
        on:
          push:
            branches: [main]
        permissions:
          id-token: write
          contents: read
        jobs:
          deploy:
            runs-on: ubuntu-latest
            environment: production
            steps:
              - uses: actions/checkout@v4
              - uses: aws-actions/configure-aws-credentials@v4
                with:
                  role-to-assume: arn:aws:iam::§acct§:role/gha-deploy
                  aws-region: eu-west-1
              - run: ./scripts/deploy.sh
                env:
                  SENTRY_AUTH_TOKEN: ${{ secrets.SENTRY_AUTH_TOKEN }}
                  SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}
                  APP_VERSION: ${{ vars.APP_VERSION }}
        """, acct=dig(12)))
    C(F, "terraform-hcl", "infra/modules/db/main.tf", T("""
        variable "db_password" {
          type      = string
          sensitive = true
        }

        resource "random_password" "app" {
          length  = 32
          special = false
        }

        resource "aws_db_instance" "main" {
          identifier          = "app-prod"
          engine              = "postgres"
          instance_class      = "db.t4g.medium"
          username            = "app_admin"
          password            = var.db_password
          skip_final_snapshot = false
        }

        resource "aws_secretsmanager_secret_version" "app" {
          secret_id     = aws_secretsmanager_secret.app.id
          secret_string = random_password.app.result
        }
        """))
    C(F, "vault-template", "deploy/vault-agent/app.env.ctmpl", T("""
        {{ with secret "kv/data/prod/app" -}}
        DB_PASSWORD={{ .Data.data.db_password }}
        JWT_SECRET={{ .Data.data.jwt_secret }}
        {{- end }}
        {{ with secret "database/creds/app-ro" -}}
        RO_USER={{ .Data.username }}
        RO_PASSWORD={{ .Data.password }}
        {{- end }}
        {{ with secret "aws/creds/uploader" -}}
        AWS_ACCESS_KEY_ID={{ .Data.access_key }}
        AWS_SECRET_ACCESS_KEY={{ .Data.secret_key }}
        {{- end }}
        """))
    C(F, "k8s-yaml", "k8s/apps/api/external-secret.yaml", T("""
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata:
          name: api-env
          namespace: api
        spec:
          refreshInterval: 1h
          secretStoreRef:
            kind: ClusterSecretStore
            name: aws-secrets-manager
          target:
            name: api-env
          data:
            - secretKey: DB_PASSWORD
              remoteRef: { key: prod/api/db, property: password }
            - secretKey: STRIPE_SECRET_KEY
              remoteRef: { key: prod/api/stripe, property: secret_key }
        """))
    C(F, "json", "ecs/taskdef-api.json", json.dumps({
        "family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024",
        "executionRoleArn": f"arn:aws:iam::{(a := dig(12))}:role/ecsTaskExecutionRole",
        "containerDefinitions": [{"name": "api", "image": f"{a}.dkr.ecr.eu-west-1.amazonaws.com/api:4.2.0", "essential": True,
                                  "portMappings": [{"containerPort": 8080}],
                                  "secrets": [{"name": "DB_PASSWORD", "valueFrom": f"arn:aws:secretsmanager:eu-west-1:{a}:secret:prod/api/db-{b62(6)}:password::"},
                                              {"name": "API_TOKEN", "valueFrom": f"arn:aws:ssm:eu-west-1:{a}:parameter/prod/api/token"}],
                                  "environment": [{"name": "LOG_LEVEL", "value": "info"}]}]}, indent=2) + "\n")
    C(F, "css", "static/css/icons.css", T("""
        .icon-check {
          width: 16px;
          height: 16px;
          background-image: url("data:image/png;base64,§a§");
        }
        .icon-warn {
          width: 16px;
          height: 16px;
          background-image: url("data:image/png;base64,§b§");
        }
        .icon-check.disabled,
        .icon-warn.disabled { opacity: .4; }
        """, a="iVBORw0KGgoAAAANSUhEUgAAABAAAAAQ" + b64(rbytes(180)), b="iVBORw0KGgoAAAANSUhEUgAAABAAAAAQ" + b64(rbytes(200))))
    C(F, "git-log", "docs/release-notes/2.4.1-commits.txt", "\n".join(
        f"commit {hx(40)}\nAuthor: {a} <{a.lower().split()[0]}@example.org>\nDate:   Mon May 13 1{i}:02:11 2024 +0200\n\n    {m}\n"
        for i, (a, m) in enumerate([("Ana Lima", "fix(api): retry on 503 from storage"), ("Max Voss", "chore: bump pgx to v5.5.5"),
                                    ("Ana Lima", "feat(ui): dark mode toggle"), ("Max Voss", "ci: pin actions by sha")])))
    C(F, "yarn-lock", "yarn.lock", "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n" + "".join(
        f'{n}@^{v}:\n  version "{v}"\n  resolved "https://registry.yarnpkg.com/{n}/-/{n}-{v}.tgz#{hx(40)}"\n  integrity sha512-{b64(rbytes(64))}\n\n'
        for n, v in [("lodash", "4.17.21"), ("ms", "2.1.3"), ("debug", "4.3.4")]))
    C(F, "html", "public/index.html", T("""
        <!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <title>Tidepool</title>
            <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css"
                  integrity="sha384-§a§" crossorigin="anonymous">
            <script src="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/bootstrap.bundle.min.js"
                    integrity="sha384-§b§" crossorigin="anonymous"></script>
            <meta name="csrf-param" content="authenticity_token" />
          </head>
          <body>
            <div id="root"></div>
          </body>
        </html>
        """, a=b64(rbytes(48)), b=b64(rbytes(48))))
    C(F, "java-properties", "src/test/resources/application.properties", T("""
        spring.profiles.active=test
        spring.datasource.url=jdbc:h2:mem:test
        spring.datasource.username=sa
        spring.datasource.password=
        app.jwt.signing-key=test-signing-key-not-for-production-000000000000
        app.mail.password=dummy
        app.storage.secret-key=${STORAGE_SECRET_KEY:local-dev-only}
        """))
    C(F, "json", "iam/password-policy.json", json.dumps({
        "MinimumPasswordLength": 14, "RequireSymbols": True, "RequireNumbers": True, "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True, "AllowUsersToChangePassword": True, "MaxPasswordAge": 90,
        "PasswordReusePrevention": 24, "HardExpiry": False}, indent=2) + "\n")
    C(F, "json", "src/i18n/en.json", json.dumps({
        "login.title": "Sign in", "login.password": "Password", "login.forgot_password": "Forgot your password?",
        "login.secret_question": "Secret question", "settings.api_key": "API key", "settings.api_key.help": "Create a key under Settings → API. It is shown only once.",
        "settings.token.revoke": "Revoke token", "errors.invalid_password": "The password is incorrect.",
        "errors.token_expired": "Your session expired. Please sign in again."}, indent=2, ensure_ascii=False) + "\n")
    C(F, "json", "infra/appservice-settings.json", json.dumps([
        {"name": "DB_PASSWORD", "value": "@Microsoft.KeyVault(SecretUri=https://kv-shop-prod.vault.azure.net/secrets/db-password/)", "slotSetting": False},
        {"name": "STRIPE_KEY", "value": "@Microsoft.KeyVault(VaultName=kv-shop-prod;SecretName=stripe-key)", "slotSetting": False},
        {"name": "WEBSITE_RUN_FROM_PACKAGE", "value": "1", "slotSetting": False},
        {"name": "ASPNETCORE_ENVIRONMENT", "value": "Production", "slotSetting": True}], indent=2) + "\n")
    C(F, "dotenv", ".env.tpl", T("""
        # rendered with: op inject -i .env.tpl -o .env
        DATABASE_URL=op://Platform/orders-db/connection-string
        STRIPE_SECRET_KEY=op://Platform/stripe-prod/secret-key
        SENDGRID_API_KEY=op://Platform/sendgrid/credential
        GITHUB_TOKEN=op://Private/github-pat/token
        APP_ENV=production
        """))
    C(F, "starlark", "MODULE.bazel", T("""
        module(name = "tidepool", version = "2.4.1")

        bazel_dep(name = "rules_go", version = "0.47.1")
        bazel_dep(name = "gazelle", version = "0.36.0")
        bazel_dep(name = "rules_oci", version = "1.7.5")

        http_archive = use_repo_rule("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

        http_archive(
            name = "protoc_linux",
            urls = ["https://github.com/protocolbuffers/protobuf/releases/download/v26.1/protoc-26.1-linux-x86_64.zip"],
            sha256 = "§a§",
            build_file_content = 'exports_files(["bin/protoc"])',
        )
        """, a=hx(64)))
    C(F, "nix", "pkgs/tidepool-cli/default.nix", T("""
        { lib, buildGoModule, fetchFromGitHub }:

        buildGoModule rec {
          pname = "tidepool-cli";
          version = "2.4.1";

          src = fetchFromGitHub {
            owner = "tidepool";
            repo = "cli";
            rev = "v${version}";
            hash = "sha256-§a§";
          };

          vendorHash = "sha256-§b§";

          meta = with lib; {
            description = "Command line client for Tidepool";
            license = licenses.asl20;
          };
        }
        """, a=b64(rbytes(32)), b=b64(rbytes(32))))
    C(F, "log", "ci/logs/build-4412.log", T("""
        2024-05-14T10:02:11.0912Z ##[group]Run ./scripts/deploy.sh
        2024-05-14T10:02:11.0913Z ./scripts/deploy.sh
        2024-05-14T10:02:11.0951Z env:
        2024-05-14T10:02:11.0951Z   SENTRY_AUTH_TOKEN: ***
        2024-05-14T10:02:11.0952Z   SLACK_WEBHOOK_URL: ***
        2024-05-14T10:02:11.0952Z   APP_VERSION: 2.4.1
        2024-05-14T10:02:11.0953Z ##[endgroup]
        2024-05-14T10:02:14.3310Z Uploading sourcemaps for release 2.4.1 ...
        2024-05-14T10:02:19.8820Z Deployed revision §rev§ to production
        2024-05-14T10:02:20.0011Z Notified *** (status 200)
        """, rev=hx(40)))
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Hashing passwords: a demo\n", "Never store plaintext; compare digests."]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["import hashlib, secrets\n", "salt = secrets.token_bytes(16)\n",
                                                                                "digest = hashlib.pbkdf2_hmac('sha256', b'correct horse battery staple', salt, 600_000)\n", "digest.hex()"],
         "outputs": [{"data": {"text/plain": [f"'{hx(64)}'"]}, "execution_count": 1, "metadata": {}, "output_type": "execute_result"}]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "source": ["hashlib.sha256(b'hello').hexdigest()"],
         "outputs": [{"data": {"text/plain": ["'2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'"]}, "execution_count": 2, "metadata": {}, "output_type": "execute_result"}]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    C(F, "ipynb", "notebooks/hashing-demo.ipynb", json.dumps(nb, indent=1) + "\n")
    C(F, "salt-sls", "salt/pillar/app.sls", T("""
        #!yaml|gpg

        app:
          db_user: app
          db_password: |
            -----BEGIN PGP MESSAGE-----

        §m§
            =§c§
            -----END PGP MESSAGE-----
          workers: 4
        """, m=indent(wrap(b64(b"\x84\x5e\x03" + rbytes(420)), 64), 4), c=b64(rbytes(3))))
    C(F, "chef-json", "data_bags/secrets/prod.json", json.dumps({
        "id": "prod",
        "db_password": {"encrypted_data": b64(rbytes(48)) + "\n", "iv": b64(rbytes(12)) + "\n", "auth_tag": b64(rbytes(16)) + "\n", "version": 3, "cipher": "aes-256-gcm"},
        "api_token": {"encrypted_data": b64(rbytes(64)) + "\n", "iv": b64(rbytes(12)) + "\n", "auth_tag": b64(rbytes(16)) + "\n", "version": 3, "cipher": "aes-256-gcm"}}, indent=2) + "\n")
    C(F, "rails-credentials-enc", "config/credentials.yml.enc", b64(rbytes(420)) + "--" + b64(rbytes(12)) + "--" + b64(rbytes(16)))
    C(F, "dhall", "config/base.dhall", T("""
        let Config = ./Config.dhall

        in    { port = 8080
              , db =
                { host = env:DB_HOST as Text ? "localhost"
                , port = 5432
                , dbname = "dodo"
                , user = env:DB_USER as Text ? "dodo"
                , password = env:DB_PASSWORD as Text
                }
              , smtp = { host = "localhost", port = 1025, user = "", password = "" }
              }
            : Config
        """))
    C(F, "cue", "deploy/cue/schema.cue", T("""
        package deploy

        #Database: {
        	host:     string
        	port:     int & >0 & <65536 | *5432
        	user:     string
        	password: string & =~"^.{16,}$"   // injected from the secret store at deploy time
        	sslmode:  "disable" | "require" | *"verify-full"
        }

        #Service: {
        	image:    string
        	replicas: int | *1
        	db?:      #Database
        }
        """))
    C(F, "csv", "data/device_registry.csv", "device_id,serial,firmware_sha256,registered_at\n" + "".join(
        f"{uuid4()},{upd(12)},{hx(64)},2024-0{R.randint(1, 9)}-1{R.randint(0, 9)}T0{R.randint(0, 9)}:00:00Z\n" for _ in range(10)))
    C(F, "scala", "src/test/scala/auth/TokenSpec.scala", T("""
        package auth

        import org.scalatest.funsuite.AnyFunSuite

        class TokenSpec extends AnyFunSuite {
          private val secret = "test-secret"   // only used to sign tokens in this spec
          private val signer = new HmacSigner(secret)

          test("round trip") {
            val t = signer.sign(Map("sub" -> "42"))
            assert(signer.verify(t).contains(Map("sub" -> "42")))
          }

          test("rejects tampering") {
            assert(signer.verify("eyJhbGciOiJIUzI1NiJ9.e30.invalidsig").isEmpty)
          }
        }
        """))


FAMILIES = [fam_provider, fam_private, fam_cloud, fam_credfiles, fam_cmdline, fam_conn, fam_http,
            fam_hooks, fam_generic, fam_keymat, fam_public, fam_nonsecret]

KEYSTORE_EXT = (".p12", ".pfx", ".jks", ".keystore", ".jceks", ".bks")


def self_check(rows):
    ids = set()
    for r in rows:
        assert r["id"] not in ids, r["id"]
        ids.add(r["id"])
        raw = base64.b64decode(r["text_b64"])
        for lab in r["secrets"]:
            if lab["line"] == 0:
                assert r["path"].endswith(KEYSTORE_EXT), r["path"]
                continue
            text = raw.decode("utf-8")
            lines = text.split("\n")
            assert 1 <= lab["line"] <= len(lines), (r["id"], lab)
            assert lines[lab["line"] - 1].strip(), (r["id"], lab)
        if (r["path"].endswith((".json", ".har", ".ipynb", "flake.lock", "openid-configuration"))
                or r["format"].endswith("json") or r["format"] in ("har", "ipynb", "postman-collection", "insomnia-export", "flake-lock")):
            json.loads(raw.decode("utf-8"))
        for lab in r["secrets"]:
            assert lab["what"], r["id"]
        if r["family"] in ("public-material", "non-secrets"):
            assert not r["secrets"], r["id"]
    from collections import Counter
    pos, neg = Counter(), Counter()
    for r in rows:
        (pos if r["secrets"] else neg)[r["family"]] += 1
    for fam in set(pos) | set(neg):
        if fam in ("public-material", "non-secrets"):
            assert neg[fam] >= 30, fam
        else:
            assert pos[fam] >= 6 and neg[fam] >= 4, fam
    assert len({r["format"] for r in rows}) >= 40


def main():
    for f in FAMILIES:
        f()
    order = list(range(len(CASES)))
    random.Random(SEED + 1).shuffle(order)
    rows = []
    for n, i in enumerate(order, 1):
        c = CASES[i]
        short = "".join(ch if ch.isalnum() else "-" for ch in c["short"].lower()).strip("-")[:24] or "file"
        rows.append({"id": f"u{n:04d}-{short}", "family": c["family"], "format": c["format"], "path": c["path"],
                     "text_b64": base64.b64encode(c["raw"]).decode(), "secrets": c["secrets"]})
    self_check(rows)
    out = sys.stdout
    for r in rows:
        out.write(json.dumps(r, sort_keys=False) + "\n")
    if "--stats" in sys.argv:
        from collections import Counter
        fam = Counter()
        pos = Counter()
        for r in rows:
            fam[r["family"]] += 1
            pos[r["family"]] += bool(r["secrets"])
        sys.stderr.write(f"files={len(rows)} positives={sum(pos.values())} formats={len(set(r['format'] for r in rows))} "
                         f"labels={sum(len(r['secrets']) for r in rows)}\n")
        for k in fam:
            sys.stderr.write(f"  {k:20s} files={fam[k]:3d} pos={pos[k]:3d} neg={fam[k]-pos[k]:3d}\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate the labelled secret-detection corpus: secrets/corpus/corpus.jsonl.

Deterministic (fixed seed); run it again after changing it and commit the output:

    python3 secrets/corpus/generate.py > secrets/corpus/corpus.jsonl

Each line is one case: {"id", "label": "secret"|"benign", "rule" (expected rule id for
secrets), "kind", "path", "text_b64"}. The text is base64-encoded so that this repository does
not itself carry plain-text, checksum-valid tokens that other scanners would flag.

Token formats come from the providers' documentation; checksums are computed here
independently of the Rust code (zlib CRC32, bech32 per BIP-173, Base58Check), so the corpus
tests the engine rather than echoing it.
"""
import base64
import hashlib
import json
import random
import string
import sys
import zlib

R = random.Random(20261126)
ALNUM = string.digits + string.ascii_uppercase + string.ascii_lowercase
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def rs(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def base62(n, width):
    s = ""
    while n:
        n, r = divmod(n, 62)
        s = ALNUM[r] + s
    return s.rjust(width, "0")


def gh(prefix, valid=True):
    body = rs(ALNUM, 70 if prefix == "ghr_" else 30)
    crc = zlib.crc32(body.encode())
    if not valid:
        crc = (crc + 1) & 0xFFFFFFFF
    return prefix + body + base62(crc, 6)


def atlassian(valid=True):
    body = "ATATT3xFfGF0" + rs(URLSAFE, 171) + "="
    crc = zlib.crc32(body.encode())
    if not valid:
        crc ^= 0x10
    return body + "%08X" % crc


def grafana_sa(valid=True):
    head = "glsa_" + rs(ALNUM, 32)
    crc = zlib.crc32(head.encode())
    if not valid:
        crc ^= 0x1
    return head + "_" + crc.to_bytes(4, "little").hex()


def base36(n, width):
    d = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while n:
        n, r = divmod(n, 36)
        s = d[r] + s
    return s.rjust(width, "0")


def gitlab_routable(valid=True):
    payload = rs(URLSAFE, R.randrange(27, 60))
    head = f"glpat-{payload}.01.{base36(len(payload), 2)}"
    crc = zlib.crc32(head.encode())
    if not valid:
        crc ^= 0x4
    return head + base36(crc, 7)


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32(hrp, data, valid=True):
    acc, bits, five = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(exp + five + [0] * 6) ^ 1
    if not valid:
        pm ^= 1
    return hrp + "1" + "".join(BECH[d] for d in five + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check(payload, valid=True):
    chk = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    if not valid:
        chk = bytes([chk[0] ^ 1]) + chk[1:]
    data = payload + chk
    n = int.from_bytes(data, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + s


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def pem(label, lines=12):
    body = "\n".join(rs(B64, 64) for _ in range(lines))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


CASES = []


def add(label, rule, kind, path, text):
    CASES.append({"label": label, "rule": rule, "kind": kind, "path": path, "text": text})


# Contexts in which a secret value appears.
def contexts(value, name="API_TOKEN"):
    lname = name.lower()
    return [
        (".env", f"{name}={value}\n"),
        ("config/settings.yaml", f"service:\n  {lname}: \"{value}\"\n"),
        ("src/client.py", f"import requests\n\n{name} = \"{value}\"\nrequests.get(url, headers={{'Authorization': {name}}})\n"),
        ("src/index.js", f"const {lname} = '{value}';\nmodule.exports = {{ {lname} }};\n"),
        ("deploy/run.sh", f"#!/bin/sh\nexport {name}=\"{value}\"\ncurl -H \"Authorization: Bearer ${name}\" https://api.internal/\n"),
        ("config.json", json.dumps({"name": "svc", lname: value}, indent=2) + "\n"),
    ]


def positives(rule, gen, n=3, name="API_TOKEN"):
    for i in range(n):
        value = gen()
        path, text = contexts(value, name)[i % 6]
        add("secret", rule, "provider-token", path, text)


# --- positives: checksummed and structured tokens
for prefix, rule in [("ghp_", "github-pat"), ("gho_", "github-oauth-token"), ("ghu_", "github-user-to-server-token"),
                     ("ghs_", "github-server-to-server-token"), ("ghr_", "github-refresh-token"), ("npm_", "npm-access-token")]:
    positives(rule, lambda p=prefix: gh(p), 4, "GITHUB_TOKEN" if prefix != "npm_" else "NPM_TOKEN")
def github_fine(valid=True):
    head = "github_pat_11" + rs(ALNUM, 20) + "_" + rs(ALNUM, 43)
    chk = base64.b32encode(hashlib.sha256(head.encode()).digest()).decode()[:8]
    if not valid:
        chk = chk[:7] + ("A" if chk[7] != "A" else "B")
    return head + chk + rs(ALNUM, 8)


positives("github-fine-grained-pat", github_fine, 3, "GH_PAT")
positives("atlassian-api-token", atlassian, 3, "JIRA_API_TOKEN")
positives("gitlab-pat-routable", gitlab_routable, 3, "GITLAB_TOKEN")
positives("grafana-service-account-token", grafana_sa, 3, "GRAFANA_TOKEN")
positives("age-secret-key", lambda: bech32("age-secret-key-", [R.randrange(256) for _ in range(32)]).upper(), 3, "AGE_KEY")
positives("nostr-private-key", lambda: bech32("nsec", [R.randrange(256) for _ in range(32)]), 3, "NOSTR_KEY")
positives("bitcoin-wif-private-key", lambda: b58check(b"\x80" + bytes(R.randrange(256) for _ in range(32)) + b"\x01"), 3, "WALLET_PRIVKEY")
positives("bip32-extended-private-key", lambda: b58check(b"\x04\x88\xad\xe4" + bytes(R.randrange(256) for _ in range(41)) + b"\x00" + bytes(R.randrange(256) for _ in range(32))), 3, "XPRV")
positives("pypi-upload-token", lambda: "pypi-" + b64url(b"\x02\x01\x08pypi.org\x02\x01" + bytes(R.randrange(256) for _ in range(60))), 3, "TWINE_PASSWORD")
positives("jwt", lambda: b64url(b'{"alg":"RS256","typ":"JWT"}') + "." + b64url(json.dumps({"sub": rs(HEX, 12), "iat": 1716239022, "exp": 1916239022}).encode()) + "." + rs(URLSAFE, 86), 3, "ID_TOKEN")

# --- positives: provider tokens by shape
shapes = [
    ("gitlab-pat", lambda: "glpat-" + rs(URLSAFE, 20), "GITLAB_TOKEN"),
    ("gitlab-runner-token", lambda: "glrt-" + rs(URLSAFE, 20), "RUNNER_TOKEN"),
    ("gitlab-pipeline-trigger-token", lambda: "glptt-" + rs(HEX, 40), "TRIGGER_TOKEN"),
    ("slack-bot-token", lambda: f"xoxb-{rs(string.digits, 11)}-{rs(string.digits, 13)}-{rs(ALNUM, 24)}", "SLACK_BOT_TOKEN"),
    ("slack-user-token", lambda: f"xoxp-{rs(string.digits, 11)}-{rs(string.digits, 11)}-{rs(string.digits, 13)}-{rs(HEX, 32)}", "SLACK_TOKEN"),
    ("slack-webhook-url", lambda: f"https://hooks.slack.com/services/T{rs(BASE32, 8)}/B{rs(BASE32, 10)}/{rs(ALNUM, 24)}", "SLACK_WEBHOOK"),
    ("stripe-secret-key", lambda: "sk_live_" + rs(ALNUM, 99), "STRIPE_SECRET_KEY"),
    ("stripe-restricted-key", lambda: "rk_live_" + rs(ALNUM, 24), "STRIPE_KEY"),
    ("stripe-webhook-secret", lambda: "whsec_" + rs(ALNUM, 32), "STRIPE_WEBHOOK_SECRET"),
    ("gcp-api-key", lambda: "AIza" + rs(URLSAFE, 35), "GOOGLE_API_KEY"),
    ("google-oauth-client-secret", lambda: "GOCSPX-" + rs(URLSAFE, 28), "GOOGLE_CLIENT_SECRET"),
    ("sendgrid-api-key", lambda: "SG." + rs(URLSAFE, 22) + "." + rs(URLSAFE, 43), "SENDGRID_API_KEY"),
    ("mailgun-api-key", lambda: "key-" + rs(HEX, 32), "MAILGUN_KEY"),
    ("mailchimp-api-key", lambda: rs(HEX, 32) + "-us" + str(R.randrange(1, 21)), "MAILCHIMP_KEY"),
    ("shopify-access-token", lambda: "shpat_" + rs(HEX, 32), "SHOPIFY_TOKEN"),
    ("shopify-shared-secret", lambda: "shpss_" + rs(HEX, 32), "SHOPIFY_SECRET"),
    ("openai-api-key", lambda: "sk-proj-" + rs(URLSAFE, 74) + "T3BlbkFJ" + rs(URLSAFE, 74), "OPENAI_API_KEY"),
    ("anthropic-api-key", lambda: "sk-ant-api03-" + rs(URLSAFE, 93) + "AA", "ANTHROPIC_API_KEY"),
    ("huggingface-token", lambda: "hf_" + rs(string.ascii_letters, 34), "HF_TOKEN"),
    ("digitalocean-pat", lambda: "dop_v1_" + rs(HEX, 64), "DIGITALOCEAN_TOKEN"),
    ("databricks-token", lambda: "dapi" + rs(HEX, 32), "DATABRICKS_TOKEN"),
    ("vault-service-token", lambda: "hvs." + rs(URLSAFE, 95), "VAULT_TOKEN"),
    ("terraform-cloud-token", lambda: rs(ALNUM, 14) + ".atlasv1." + rs(URLSAFE, 67), "TFE_TOKEN"),
    ("doppler-service-token", lambda: "dp.st." + rs(ALNUM, 43), "DOPPLER_TOKEN"),
    ("dockerhub-pat", lambda: "dckr_pat_" + rs(URLSAFE, 27), "DOCKER_PAT"),
    ("heroku-api-key", lambda: "HRKU-AA" + rs(URLSAFE, 58), "HEROKU_API_KEY"),
    ("linear-api-key", lambda: "lin_api_" + rs(ALNUM, 40), "LINEAR_API_KEY"),
    ("postman-api-key", lambda: f"PMAK-{rs(HEX, 24)}-{rs(HEX, 34)}", "POSTMAN_API_KEY"),
    ("newrelic-user-api-key", lambda: "NRAK-" + rs(string.digits + string.ascii_uppercase, 27), "NEW_RELIC_API_KEY"),
    ("sentry-user-token", lambda: "sntryu_" + rs(HEX, 64), "SENTRY_AUTH_TOKEN"),
    ("planetscale-password", lambda: "pscale_pw_" + rs(URLSAFE, 43), "DATABASE_PASSWORD"),
    ("pulumi-access-token", lambda: "pul-" + rs(HEX, 40), "PULUMI_ACCESS_TOKEN"),
    ("tailscale-auth-key", lambda: f"tskey-auth-{rs(ALNUM, 17)}-{rs(ALNUM, 33)}", "TS_AUTHKEY"),
    ("square-access-token", lambda: "EAAA" + rs(URLSAFE, 60), "SQUARE_ACCESS_TOKEN"),
    ("telegram-bot-token", lambda: f"{R.randrange(10**8, 10**10)}:AA{rs(URLSAFE, 33)}", "TELEGRAM_BOT_TOKEN"),
    ("discord-webhook", lambda: f"https://discord.com/api/webhooks/{R.randrange(10**17, 10**19)}/{rs(URLSAFE, 68)}", "DISCORD_WEBHOOK"),
    ("newrelic-license-key", lambda: rs(HEX, 36) + "NRAL", "NEW_RELIC_LICENSE_KEY"),
    ("azure-devops-pat", lambda: rs(ALNUM, 52) + "AZDO" + rs(ALNUM, 4), "AZURE_DEVOPS_PAT"),
    ("notion-integration-token", lambda: "ntn_" + rs(string.digits, 11) + rs(ALNUM, 35), "NOTION_TOKEN"),
    ("figma-pat", lambda: "figd_" + rs(URLSAFE, 40), "FIGMA_TOKEN"),
    ("airtable-pat", lambda: "pat" + rs(ALNUM, 14) + "." + rs(HEX, 64), "AIRTABLE_TOKEN"),
    ("sonarqube-user-token", lambda: "squ_" + rs(HEX, 40), "SONAR_TOKEN"),
    ("rubygems-api-key", lambda: "rubygems_" + rs(HEX, 48), "GEM_HOST_API_KEY"),
    ("openrouter-api-key", lambda: "sk-or-v1-" + rs(HEX, 64), "OPENROUTER_API_KEY"),
    ("groq-api-key", lambda: "gsk_" + rs(ALNUM, 52), "GROQ_API_KEY"),
    ("replicate-api-token", lambda: "r8_" + rs(ALNUM, 37), "REPLICATE_API_TOKEN"),
]
for rule, gen, name in shapes:
    positives(rule, gen, 3, name)

# --- positives: keys, cloud credentials, connection strings, generic assignments
for label, rule in [("RSA PRIVATE KEY", "private-key-rsa"), ("EC PRIVATE KEY", "private-key-ec"), ("OPENSSH PRIVATE KEY", "private-key-openssh"),
                    ("PRIVATE KEY", "private-key-pkcs8"), ("ENCRYPTED PRIVATE KEY", "private-key-pkcs8-encrypted"),
                    ("PGP PRIVATE KEY BLOCK", "pgp-private-key-block"), ("DSA PRIVATE KEY", "private-key-dsa")]:
    add("secret", rule, "private-key", "keys/deploy_key", pem(label))
    add("secret", rule, "private-key", "test/fixtures.py", f'KEY = """{pem(label, 8)}"""\n')
add("secret", "private-key-rsa", "private-key", "certs/legacy.key",
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,8A5C5D2FF1A1B2C3D4E5F60718293A4B\n\n"
    + "\n".join(rs(B64, 64) for _ in range(10)) + "\n-----END RSA PRIVATE KEY-----\n")
for i in range(2):
    pub = "\n".join(rs(B64, 64) for _ in range(2))
    priv = "\n".join(rs(B64, 64) for _ in range(4))
    add("secret", "putty-private-key", "private-key", f"keys/k{i}.ppk",
        f"PuTTY-User-Key-File-{2 + i}: ssh-rsa\nEncryption: none\nComment: imported\nPublic-Lines: 2\n{pub}\nPrivate-Lines: 4\n{priv}\nPrivate-MAC: {rs(HEX, 40)}\n")
for i in range(3):
    key = "\\n".join(rs(B64, 64) for _ in range(10))
    add("secret", "gcp-service-account-key", "cloud", f"secrets/sa-{i}.json", json.dumps({
        "type": "service_account", "project_id": f"acme-{i}", "private_key_id": rs(HEX, 40),
        "private_key": "-----BEGIN PRIVATE KEY-----\n" + key.replace("\\n", "\n") + "\n-----END PRIVATE KEY-----\n",
        "client_email": f"ci@acme-{i}.iam.gserviceaccount.com"}, indent=2))
for i in range(3):
    add("secret", "aws-secret-access-key", "cloud", "~/.aws/credentials-backup",
        f"[default]\naws_access_key_id = AKIA{rs(BASE32, 16)}\naws_secret_access_key = {rs(B64, 40)}\n")
    add("secret", "azure-storage-connection-string", "cloud", "appsettings.json",
        json.dumps({"Storage": f"DefaultEndpointsProtocol=https;AccountName=acme{i}prod;AccountKey={rs(B64, 86)}==;EndpointSuffix=core.windows.net"}))
    add("secret", "azure-ad-client-secret", "cloud", "terraform.tfvars",
        f'client_secret = "{rs(ALNUM, 3)}8Q~{rs(ALNUM + "_~.-", 34)}"\n')
for scheme, rule in [("postgres", "database-url-password"), ("postgresql", "database-url-password"), ("mysql", "database-url-password"),
                     ("mongodb+srv", "mongodb-url-password"), ("redis", "redis-url-password"), ("amqps", "amqp-url-password")]:
    for i in range(2):
        pw = rs(ALNUM, 12 + i * 6)
        add("secret", rule, "connection-string", "config/database.yml", f"production:\n  url: {scheme}://app_user:{pw}@db-{i}.prod.internal:5432/app\n")
add("secret", "jdbc-url-password", "connection-string", "application.properties",
    f"spring.datasource.url=jdbc:mysql://db.prod.internal:3306/app?user=app&password={rs(ALNUM, 16)}\n")
add("secret", "adonet-connection-string-password", "connection-string", "appsettings.Production.json",
    json.dumps({"ConnectionStrings": {"Default": f"Server=tcp:acme.database.windows.net,1433;Database=app;User ID=app;Password={rs(ALNUM, 14)}!;Encrypt=True;"}}))
add("secret", "npmrc-auth-token", "registry", ".npmrc", f"//registry.npmjs.org/:_authToken={rs(HEX, 8)}-{rs(HEX, 4)}-{rs(HEX, 4)}-{rs(HEX, 4)}-{rs(HEX, 12)}\n")
for i in range(4):
    pw = rs(string.ascii_letters, 6) + rs(string.digits, 3) + R.choice("!#%+") + rs(ALNUM, 4)
    add("secret", "generic-password", "generic", ["settings.py", "config/app.yml", "docker-compose.yml", "src/db.ts"][i],
        [f"DATABASES = {{'default': {{'PASSWORD': '{pw}'}}}}\n", f"smtp:\n  password: \"{pw}\"\n",
         f"services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: {pw}\n", f"const dbPassword = \"{pw}\";\n"][i])
    key = rs(ALNUM, 32)
    add("secret", "generic-api-key", "generic", ["src/api.py", "config.yml", "app/main.go", "client.rb"][i],
        [f"API_KEY = \"{key}\"\n", f"weather:\n  api_key: {key}\n", f"const apiKey = \"{key}\"\n", f"client_secret = '{key}'\n"][i])
for i in range(2):
    add("secret", "twilio-auth-token", "contextual", ".env.production", f"TWILIO_AUTH_TOKEN={rs(HEX, 32)}\n")
    add("secret", "datadog-api-key", "contextual", "helm/values.yaml", f"datadog:\n  DD_API_KEY: \"{rs(HEX, 32)}\"\n")

# --- negatives: the same shapes with wrong checksums
for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_"]:
    for i in range(3):
        path, text = contexts(gh(prefix, valid=False), "TOKEN")[i]
        add("benign", None, "wrong-checksum", path, text)
# Undocumented checksums (fine-grained PATs, Atlassian, Grafana, GitLab routable) may only raise
# confidence: a token that fails them is still a secret of its rule.
for rule, gen in [("github-fine-grained-pat", lambda: github_fine(False)), ("atlassian-api-token", lambda: atlassian(False)),
                  ("grafana-service-account-token", lambda: grafana_sa(False)), ("gitlab-pat-routable", lambda: gitlab_routable(False))]:
    for i in range(3):
        path, text = contexts(gen(), "WALLET_PRIVKEY")[i]
        add("secret", rule, "unverified-checksum", path, text)
for gen in [lambda: bech32("age-secret-key-", [R.randrange(256) for _ in range(32)], False).upper(),
            lambda: bech32("nsec", [R.randrange(256) for _ in range(32)], False),
            lambda: b58check(b"\x80" + bytes(R.randrange(256) for _ in range(32)) + b"\x01", False)]:
    for i in range(3):
        path, text = contexts(gen(), "WALLET_PRIVKEY")[i]
        add("benign", None, "wrong-checksum", path, text)

# documentation example keys
docs = [
    ("README.md", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    ("docs/aws.md", "aws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n"),
    ("docker-compose.yml", "AZURE_STORAGE_CONNECTION_STRING: DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\n"),
    ("docs/stripe.md", "Publishable key: pk_test_TYooMQauvdEDq54NiTphI7jx\n"),
    ("docs/slack.md", "SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX\n"),
    ("docs/db.md", "DATABASE_URL=postgres://user:password@localhost:5432/mydb\n"),
    ("docs/db2.md", "DATABASE_URL=postgresql://postgres:postgres@localhost/test\n"),
    ("docs/mongo.md", "mongodb://<username>:<password>@cluster0.example.mongodb.net/test\n"),
    ("docs/redis.md", "REDIS_URL=redis://:${REDIS_PASSWORD}@redis:6379/0\n"),
    ("docs/http.md", "curl https://user:pass@example.com/api\n"),
]
for path, text in docs:
    add("benign", None, "documentation-example", path, text)

# placeholders
placeholders = ["ghp_" + "x" * 36, "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "<your-github-token>", "your_api_key_here", "changeme",
                "xxxxxxxxxxxxxxxxxxxxxxxx", "sk_live_" + "0" * 24, "REPLACE_ME_WITH_REAL_TOKEN", "********", "TODO-set-a-password",
                "glpat-xxxxxxxxxxxxxxxxxxxx", "AKIAXXXXXXXXXXXXXXXX", "dummy-password-123", "example_secret_value", "null"]
for i, p in enumerate(placeholders):
    path, text = contexts(p, ["API_KEY", "PASSWORD", "SECRET", "TOKEN"][i % 4])[i % 6]
    add("benign", None, "placeholder", path, text)

# environment lookups and templating
lookups = [
    ("app.py", "password = os.environ['DB_PASSWORD']\napi_key = os.getenv('API_KEY')\n"),
    ("app.js", "const apiKey = process.env.API_KEY;\nconst secret = process.env['CLIENT_SECRET'];\n"),
    ("App.java", "String password = System.getenv(\"DB_PASSWORD\");\n"),
    ("config.rb", "config.api_key = ENV.fetch('API_KEY')\nconfig.secret = ENV['SECRET']\n"),
    ("values.yaml", "password: {{ .Values.db.password }}\ntoken: \"{{ required \"token\" .Values.token }}\"\n"),
    (".github/workflows/ci.yml", "env:\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"),
    ("docker-compose.yml", "environment:\n  - POSTGRES_PASSWORD=${POSTGRES_PASSWORD}\n  - API_TOKEN=${API_TOKEN:-}\n"),
    ("main.tf", "password = var.db_password\napi_key  = data.vault_generic_secret.api.data[\"key\"]\n"),
    ("settings.py", "SECRET_KEY = config('SECRET_KEY')\nPASSWORD = get_secret('db/password')\n"),
    ("deploy.sh", "export TOKEN=$(vault kv get -field=token secret/ci)\nPASSWORD=\"$1\"\n"),
    ("k8s.yaml", "- name: API_KEY\n  valueFrom:\n    secretKeyRef:\n      name: api\n      key: api-key\n"),
    ("app.go", "token := os.Getenv(\"TOKEN\")\npassword := viper.GetString(\"db.password\")\n"),
]
for path, text in lookups:
    add("benign", None, "env-lookup", path, text)

# hashes, UUIDs, identifiers
for i in range(4):
    add("benign", None, "hash", "checksums.txt", f"sha256 = \"{rs(HEX, 64)}\"\nmd5: {rs(HEX, 32)}\n")
    add("benign", None, "hash", "CHANGELOG.md", f"* fix parser ({rs(HEX, 40)})\n* merge {rs(HEX, 7)}\n")
    uid = f"{rs(HEX, 8)}-{rs(HEX, 4)}-4{rs(HEX, 3)}-a{rs(HEX, 3)}-{rs(HEX, 12)}"
    add("benign", None, "uuid", "fixtures.json", json.dumps({"request_id": uid, "api_key_id": uid, "token": uid}))
add("benign", None, "hash", "password_hash.py", "password_hash = \"$2b$12$" + rs(B64.replace("+", "."), 53) + "\"\n")
add("benign", None, "hash", "integrity.txt", f"token_checksum: sha256:{rs(HEX, 64)}\n")

# public keys and certificates
add("benign", None, "public-key", "keys/id_rsa.pub", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + rs(B64, 300) + " deploy@ci\n")
add("benign", None, "public-key", "keys/id_ed25519.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + rs(B64, 43) + " me@laptop\n")
add("benign", None, "public-key", "certs/ca.crt", pem("CERTIFICATE", 20))
add("benign", None, "public-key", "keys/signing.pub", pem("PUBLIC KEY", 6))
add("benign", None, "public-key", "keys/rsa.pub", pem("RSA PUBLIC KEY", 6))
add("benign", None, "public-key", "keys/release.asc", pem("PGP PUBLIC KEY BLOCK", 12))
add("benign", None, "public-key", "config.js", f"const publicKey = \"{rs(B64, 44)}\";\nconst stripe = Stripe('pk_live_{rs(ALNUM, 24)}');\n")
add("benign", None, "public-key", "jwks.json", json.dumps({"keys": [{"kty": "RSA", "kid": rs(HEX, 8), "n": rs(URLSAFE, 342), "e": "AQAB"}]}))

# lockfiles and integrity strings
add("benign", None, "lockfile", "package-lock.json", json.dumps({"packages": {"node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": "sha512-" + rs(B64, 86) + "=="}}}, indent=2))
add("benign", None, "lockfile", "web/package.json", json.dumps({"name": "web", "integrity": "sha512-" + rs(B64, 86) + "==", "token": "sha384-" + rs(B64, 64)}))
add("benign", None, "lockfile", "yarn.lock", f"left-pad@^1.3.0:\n  version \"1.3.0\"\n  integrity sha1-{rs(B64, 27)}=\n")
add("benign", None, "lockfile", "Cargo.lock", f"[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nchecksum = \"{rs(HEX, 64)}\"\n")
add("benign", None, "lockfile", "go.sum", f"github.com/pkg/errors v0.9.1 h1:{rs(B64, 43)}=\n")
add("benign", None, "lockfile", "poetry.lock", f"[metadata]\ncontent-hash = \"{rs(HEX, 64)}\"\n")
add("benign", None, "lockfile", "index.html", f"<script src=\"x.js\" integrity=\"sha384-{rs(B64, 64)}\" crossorigin=\"anonymous\"></script>\n")

# code that mentions secrets without containing one
code = [
    ("auth.py", "def get_token(self):\n    token = self._client.fetch_token(scope=SCOPE)\n    return token\n"),
    ("forms.py", "password = forms.CharField(widget=forms.PasswordInput)\npassword_confirm = forms.CharField()\n"),
    ("user.ts", "interface User { password: string; apiKey?: string }\nconst token: string = await login(user, password);\n"),
    ("crypto.rs", "let secret_key = SecretKey::from_bytes(&bytes)?;\nlet token = Token::new(claims, &secret_key);\n"),
    ("test_auth.py", "def test_login(client):\n    resp = client.post('/login', data={'password': 'wrong'})\n    assert resp.status_code == 401\n"),
    ("i18n/en.json", json.dumps({"password_label": "Password", "token_expired": "Your session token has expired", "api_key_help": "Create an API key in settings"})),
    ("Makefile", "token:\n\t./scripts/get-token.sh > .token\n"),
    ("colors.css", ".secret { color: #a3b2c1; }\n.token-badge { background: #1f2d3c; }\n"),
    ("img.html", "<img src=\"data:image/png;base64," + rs(B64, 200) + "\">\n"),
    ("schema.graphql", "type Mutation {\n  resetPassword(token: String!, password: String!): Boolean\n}\n"),
    ("nginx.conf", "auth_basic_user_file /etc/nginx/.htpasswd;\nproxy_set_header Authorization $http_authorization;\n"),
    ("paginate.py", "next_page_token = response['nextPageToken']\ncsrf_token = request.cookies.get('csrftoken')\n"),
    ("tokenizer.py", "tokenizer_name = 'bert-base-uncased-v2'\nmax_tokens = 4096\n"),
    ("k8s-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: \"\"\n"),
    ("sealed.yaml", "kind: SealedSecret\nspec:\n  encryptedData:\n    password: Ag" + rs(B64, 300) + "\n"),
    ("constants.go", "const (\n\tHeaderAPIKey = \"X-Api-Key\"\n\tTokenTypeBearer = \"Bearer\"\n)\n"),
    ("git.log", "commit " + rs(HEX, 40) + "\nAuthor: Dev <dev@example.com>\n\n    rotate api token\n"),
]
for path, text in code:
    add("benign", None, "code", path, text)

# --- credential families without a provider prefix (issue 12), positives and hard negatives,
# written from each format's documentation (netrc(5), PostgreSQL "The Password File", MySQL
# option files, sshpass(1), mysql(1), curl(1), docker-login(1), htpasswd(1), RFC 7617, the
# go-sql-driver DSN, Kubernetes Secrets, Jupyter's nbformat).
def human_pw(url=False):
    # characters a URL's userinfo may hold unencoded (RFC 3986) where the password goes in one
    return rs(string.ascii_letters, 5) + rs(string.digits, 2) + R.choice("!*-_." if url else "!#%+@^") + rs(ALNUM, 5)


def b64std(text):
    return base64.b64encode(text.encode()).decode()


for i in range(3):
    pw = human_pw()
    add("secret", "netrc-password", "netrc", [".netrc", "home/ci/_netrc", "scripts/setup-netrc.sh"][i], [
        f"machine api.internal.acme.io login deploy password {pw}\n",
        f"machine nexus.acme.io\n    login ci-bot\n    password {pw}\n\nmachine files.acme.io login ftp password {human_pw()}\n",
        f"#!/bin/sh\ncat > ~/.netrc <<EOF\nmachine git.acme.io login builder password {pw}\nEOF\nchmod 600 ~/.netrc\n"][i])
for path, text in [(".netrc", "machine api.github.com login octocat password $GITHUB_TOKEN\n"),
                   ("docs/netrc.md", "Each line reads `machine <host> login <user> password <password>`.\n"),
                   (".netrc", "machine ftp.gnu.org login anonymous password <your-email-address>\n")]:
    add("benign", None, "netrc", path, text)
for i in range(2):
    add("secret", "pgpass-password", "pgpass", [".pgpass", "deploy/pgpass.conf"][i],
        f"# hostname:port:database:username:password\ndb-{i}.prod.internal:5432:orders:orders_rw:{human_pw()}\n*:*:*:replicator:{human_pw()}\n")
add("benign", None, "pgpass", ".pgpass", "# hostname:port:database:username:password\n# fill in from the vault\n")
for i in range(2):
    add("secret", "option-file-password", "mycnf", [".my.cnf", "etc/mysql/conf.d/client.cnf"][i],
        f"[client]\nuser=app\npassword=\"{human_pw()}\"\nhost=db.internal\n")
add("benign", None, "mycnf", ".my.cnf", "[client]\nuser=app\n# password is read from ~/.mylogin.cnf\nhost=db.internal\n")
add("secret", "url-credentials", "git-credentials", ".git-credentials", f"https://builder:{rs(ALNUM, 20)}@git.acme.io\n")
add("benign", None, "git-credentials", "docs/git-credentials.md", "Lines look like https://user:pass@example.com\n")

cli = [
    ("sshpass-password", "deploy/push.sh", lambda p: f"#!/bin/bash\nsshpass -p '{p}' scp build.tgz ops@10.1.2.3:/srv/\n"),
    ("mysql-cli-password", "Makefile", lambda p: f"restore:\n\tmysql -h db.internal -u root -p{p} shop < backup.sql\n"),
    ("mysql-cli-password", "scripts/backup.sh", lambda p: f"mysqldump --host=db --user=backup --password='{p}' shop > shop.sql\n"),
    ("curl-user-password", ".gitlab-ci.yml", lambda p: f"upload:\n  script:\n    - curl --fail -u uploader:{p} -T dist/app.tgz https://nexus.acme.io/repository/raw/\n"),
    ("pgpassword-variable", "Dockerfile", lambda p: f"FROM postgres:16\nRUN PGPASSWORD={p} psql -h db -U app -c 'select 1'\n"),
    ("docker-login-password", ".github/workflows/release.yml", lambda p: f"jobs:\n  push:\n    steps:\n      - run: docker login -u acmebot -p {p} registry.acme.io\n"),
    ("htpasswd-cli-password", "provision.sh", lambda p: f"apt-get install -y apache2-utils\nhtpasswd -bc /etc/nginx/.htpasswd admin {p}\n"),
]
for rule, path, gen in cli:
    add("secret", rule, "command-line", path, gen(human_pw()))
for path, text in [
    ("deploy/push.sh", "sshpass -p \"$DEPLOY_PASSWORD\" scp build.tgz ops@host:/srv/\n"),
    ("Makefile", "restore:\n\tmysql -h db -u root -p shop < backup.sql\n"),
    (".gitlab-ci.yml", "script:\n  - curl -u \"$NEXUS_USER:$NEXUS_PASS\" -T app.tgz https://nexus/\n"),
    (".github/workflows/ci.yml", "- run: echo \"$TOKEN\" | docker login -u bot --password-stdin ghcr.io\n"),
    ("Dockerfile", "ENV PGPASSWORD=\"\"\nRUN psql -h db -U app -c 'select 1'\n"),
    ("provision.sh", "htpasswd -c /etc/nginx/.htpasswd admin\n"),
    ("README.md", "Run `mysql -u root -p` and type the password when asked.\n"),
]:
    add("benign", None, "command-line", path, text)

for i, (scheme, rule) in enumerate([("smtp", "url-credentials"), ("ftp", "url-credentials"), ("ldap", "url-credentials"),
                                     ("sftp", "url-credentials"), ("rediss", "redis-url-password"), ("amqp", "amqp-url-password"),
                                     ("mongodb", "mongodb-url-password"), ("mysql", "database-url-password")]):
    add("secret", rule, "url-credentials", ["settings.py", "config.toml", "app.properties", "deploy.sh"][i % 4],
        f"# connection\nBROKER = \"{scheme}://svc_{rs(string.ascii_lowercase, 4)}:{human_pw(True)}@{scheme}-{i}.acme.internal:{1000 + i}/\"\n")
add("secret", "go-dsn-password", "url-credentials", "internal/store/db.go",
    f"package store\n\nconst dsn = \"shop:{human_pw(True)}@tcp(mysql.internal:3306)/shop?parseTime=true\"\n")
add("secret", "adonet-connection-string-password", "url-credentials", "App.config",
    f"<connectionStrings>\n  <add name=\"Main\" connectionString=\"Driver={{ODBC Driver 18 for SQL Server}};Server=sql.acme.internal;Database=erp;UID=erp;PWD={human_pw()};\" />\n</connectionStrings>\n")
add("secret", "jdbc-oracle-password", "url-credentials", "src/main/resources/application.properties",
    f"spring.datasource.url=jdbc:oracle:thin:erp/{human_pw(True)}@ora.acme.internal:1521/ERP\n")
for path, text in [
    ("settings.py", "BROKER = \"amqp://guest:guest@localhost:5672/\"\n"),
    ("internal/store/db.go", "dsn := fmt.Sprintf(\"%s:%s@tcp(%s)/%s\", user, pass, host, name)\n"),
    ("App.config", "<add name=\"Main\" connectionString=\"Server=.;Database=erp;Integrated Security=True;\" />\n"),
    ("config.toml", "url = \"smtp://mail.acme.internal:587\"\n"),
    ("docs/ldap.md", "ldap://cn=admin:{password}@ldap.example.org\n"),
]:
    add("benign", None, "url-credentials", path, text)

for i in range(3):
    cred = b64std(f"svc-{rs(string.ascii_lowercase, 5)}:{human_pw()}")
    add("secret", "http-basic-auth", "basic-auth", ["client.py", "api.http", "fetch.js"][i], [
        f"import requests\nr = requests.get(URL, headers={{\"Authorization\": \"Basic {cred}\"}})\n",
        f"GET https://jenkins.acme.io/api/json\nAuthorization: Basic {cred}\n",
        f"fetch(url, {{ headers: {{ 'Authorization': 'Basic {cred}' }} }});\n"][i])
for path, text in [("api.http", "GET https://httpbin.org/basic-auth/user/passwd\nAuthorization: Basic dXNlcjpwYXNzd2Q=\n"),
                   ("client.py", "headers = {\"Authorization\": \"Basic \" + base64.b64encode(f\"{user}:{pw}\".encode()).decode()}\n"),
                   ("nginx.conf", "proxy_set_header Authorization \"Basic $http_authorization\";\n")]:
    add("benign", None, "basic-auth", path, text)

for i in range(3):
    kid, sec = "AKIA" + rs(BASE32, 16), rs(B64, 40)
    # with the keyword beside it, the keyword rule reports the secret key
    add("secret", "aws-secret-access-key" if i == 1 else "aws-secret-access-key-near-id", "aws-pair", ["credentials.csv", "upload.py", "Jenkinsfile"][i], [
        f"User name,Access key ID,Secret access key\nci-uploader,{kid},{sec}\n",
        f"s3 = boto3.client(\"s3\", aws_access_key_id=\"{kid}\",\n                  aws_secret_access_key=\"{sec}\")\n",
        f"sh \"./upload.sh {kid} {sec}\"\n"][i])
# an access key id alone is an identifier, not a credential: shown (warn), never blocking;
# so is a Twilio API key SID (the secret that goes with it is the credential)
for i in range(3):
    path, text = contexts("AKIA" + rs(BASE32, 16), "AWS_ACCESS_KEY_ID")[i]
    add("benign", None, "aws-pair", path, text)
    path, text = contexts("SK" + rs(HEX, 32), "TWILIO_KEY_SID")[i]
    add("benign", None, "identifier", path, text)
add("benign", None, "aws-pair", "docs/iam.md", "Example: AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
add("benign", None, "aws-pair", "audit.log", f"key AKIA{rs(BASE32, 16)} rotated, commit {rs(HEX, 40)}\n")

for i in range(2):
    snow = str(R.randrange(10**17, 10**19))
    tok = base64.b64encode(snow.encode()).decode().rstrip("=") + "." + rs(URLSAFE, 6) + "." + rs(URLSAFE, 38)
    add("secret", "discord-bot-token", "webhook-bot", ["bot.py", "index.js"][i],
        [f"import discord\nclient = discord.Client()\nclient.run(\"{tok}\")\n", f"const c = new Client();\nc.login('{tok}');\n"][i])
    add("secret", "telegram-bot-token", "webhook-bot", ["notify.sh", "alerts.yaml"][i],
        [f"curl https://api.telegram.org/bot{R.randrange(10**8, 10**10)}:AA{rs(URLSAFE, 33)}/sendMessage -d text=up\n",
         f"alerting:\n  bot: \"{R.randrange(10**8, 10**10)}:AA{rs(URLSAFE, 33)}\"\n"][i])
    add("secret", "slack-webhook-url", "webhook-bot", ["hooks.json", "notify.py"][i],
        f"{{\"url\": \"https://hooks.slack.com/services/T{rs(BASE32, 8)}/B{rs(BASE32, 10)}/{rs(ALNUM, 24)}\"}}\n")
add("benign", None, "webhook-bot", "docs/discord.md", "Create a bot and copy its token (it looks like `MTA...`); never commit it.\n")

for i in range(2):
    pw = human_pw()
    add("secret", "generic-password", "notebook", f"notebooks/analysis-{i}.ipynb", json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": [
            "import psycopg2\n", f"password = \"{pw}\"\n", "conn = psycopg2.connect(host='db', password=password)\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
add("benign", None, "notebook", "notebooks/login.ipynb", json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
    "source": ["import getpass\n", "password = getpass.getpass()\n"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
for i in range(2):
    add("secret", "kubernetes-secret-data", "kubernetes", f"k8s/secret-{i}.yaml",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-{i}\ntype: Opaque\ndata:\n  username: {b64std('api')}\n  password: {b64std(human_pw())}\n")
add("benign", None, "kubernetes", "k8s/secret-template.yaml",
    f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\ndata:\n  password: {b64std('changeme')}\n")
add("benign", None, "kubernetes", "k8s/configmap.yaml",
    f"apiVersion: v1\nkind: ConfigMap\ndata:\n  cache_key: {rs(ALNUM, 24)}\n  token_ttl: \"3600\"\n")

for i in range(2):
    add("secret", "dotenv-secret", "dotenv", [".env", "services/api/.env.production"][i],
        f"APP_ENV=production\nSESSION_SECRET={rs(ALNUM, 32)}\nLOG_LEVEL=info\n")
for path, text in [(".env.example", f"SESSION_SECRET=\nSTRIPE_KEY=sk_live_your_key_here\n"),
                   (".env", "DB_PASSWORD=${DB_PASSWORD}\nAPI_TOKEN=\n"),
                   ("services/api/.env.sample", "JWT_SECRET=change-me\n")]:
    add("benign", None, "dotenv", path, text)

# public material: certificates, public keys, publishable and client ids (never a finding)
for path, text in [
    ("certs/server.pem", pem("CERTIFICATE", 18)),
    ("tls/chain.pem", pem("CERTIFICATE", 12) + pem("CERTIFICATE", 12)),
    ("keys/release.key", pem("PUBLIC KEY", 6)),
    ("web/checkout.js", f"const stripe = Stripe('pk_live_{rs(ALNUM, 99)}');\n"),
    ("web/auth.ts", f"export const GOOGLE_CLIENT_ID = '{R.randrange(10**11, 10**12)}-{rs(string.ascii_lowercase + string.digits, 32)}.apps.googleusercontent.com';\n"),
    ("appsettings.json", json.dumps({"AzureAd": {"TenantId": f"{rs(HEX, 8)}-{rs(HEX, 4)}-{rs(HEX, 4)}-{rs(HEX, 4)}-{rs(HEX, 12)}",
                                                  "ClientId": f"{rs(HEX, 8)}-{rs(HEX, 4)}-{rs(HEX, 4)}-{rs(HEX, 4)}-{rs(HEX, 12)}"}}, indent=2)),
    ("deploy/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + rs(B64, 43) + " ops@bastion\n"),
    (".aws/credentials.template", "[default]\naws_access_key_id = YOUR_ACCESS_KEY_ID\naws_secret_access_key = YOUR_SECRET_ACCESS_KEY\n"),
]:
    add("benign", None, "public-material", path, text)

# binary key material: the file itself is the secret
add("secret", "pkcs12-file", "key-material", "signing/release.p12", "\x30\x82\x0a\x1f" + rs(ALNUM, 40))
add("secret", "java-keystore-file", "key-material", "android/app/upload.keystore", "\xfe\xed\xfe\xed" + rs(ALNUM, 40))

# references to secret stores and encrypted values
for path, text in [
    ("secrets.enc.yaml", "db:\n  password: ENC[AES256_GCM,data:" + rs(B64, 24) + ",iv:" + rs(B64, 16) + ",tag:" + rs(B64, 22) + ",type:str]\n"),
    ("group_vars/all.yml", "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  " + rs(HEX, 64) + "\n"),
    ("main.tf", "password = \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf\"\n"),
    ("app.yaml", "api_key: op://Production/Stripe/credential\n"),
    ("settings.py", "SECRET_KEY = \"%(secret_key)s\"\n"),
]:
    add("benign", None, "secret-reference", path, text)

for i, c in enumerate(CASES):
    c["id"] = f"{i:04d}-{c['kind']}"
    c["text_b64"] = base64.b64encode(c.pop("text").encode()).decode()
    sys.stdout.write(json.dumps({k: c[k] for k in ["id", "label", "rule", "kind", "path", "text_b64"]}) + "\n")

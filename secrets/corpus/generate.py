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
    ("aws-access-key-id", lambda: "AKIA" + rs(BASE32, 16), "AWS_ACCESS_KEY_ID"),
    ("gcp-api-key", lambda: "AIza" + rs(URLSAFE, 35), "GOOGLE_API_KEY"),
    ("google-oauth-client-secret", lambda: "GOCSPX-" + rs(URLSAFE, 28), "GOOGLE_CLIENT_SECRET"),
    ("sendgrid-api-key", lambda: "SG." + rs(URLSAFE, 22) + "." + rs(URLSAFE, 43), "SENDGRID_API_KEY"),
    ("mailgun-api-key", lambda: "key-" + rs(HEX, 32), "MAILGUN_KEY"),
    ("mailchimp-api-key", lambda: rs(HEX, 32) + "-us" + str(R.randrange(1, 21)), "MAILCHIMP_KEY"),
    ("twilio-api-key", lambda: "SK" + rs(HEX, 32), "TWILIO_KEY_SID"),
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
for gen in [lambda: github_fine(False), lambda: atlassian(False), lambda: grafana_sa(False), lambda: gitlab_routable(False),
            lambda: bech32("age-secret-key-", [R.randrange(256) for _ in range(32)], False).upper(),
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

for i, c in enumerate(CASES):
    c["id"] = f"{i:04d}-{c['kind']}"
    c["text_b64"] = base64.b64encode(c.pop("text").encode()).decode()
    sys.stdout.write(json.dumps({k: c[k] for k in ["id", "label", "rule", "kind", "path", "text_b64"]}) + "\n")

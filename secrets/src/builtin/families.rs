//! Credentials that carry no provider prefix: passwords in credential files (`.netrc`,
//! `.pgpass`, `.my.cnf`, `.env`, …), on command lines, in DSNs and HTTP headers, AWS secret keys
//! found beside their key id, bot tokens recognised by structure, Kubernetes Secret values, and
//! the "look harder" rules that replace file-name findings: a credential file's name only
//! selects where these rules run; a finding always points at the credential in it.
//!
//! Sources: the formats' own documentation — netrc(5), the PostgreSQL manual ("The Password
//! File", `PGPASSWORD`), MySQL option files, sshpass(1), mysql(1), curl(1) `-u`, docker-login(1),
//! htpasswd(1), RFC 7617 (Basic), go-sql-driver/mysql's DSN format, Kubernetes "Secrets",
//! WireGuard's `wg(8)` configuration, OpenVPN static keys, Rails credentials.

use super::{b64, rnd};
use crate::rule::{Allowlist, RegexTarget, Rule, Severity, Validation};

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B64: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";

/// A password that the placeholder filter accepts, for examples.
fn pw(seed: &str) -> String {
    format!(
        "{}#{}",
        rnd(seed, ALNUM, 9),
        rnd(&format!("{seed}/2"), ALNUM, 5)
    )
}

/// Paths of `.env` files that hold values (templates excluded by the rule's allowlist).
const DOTENV: &str = r"(?:^|/)\.env(?:\.[A-Za-z0-9_\-.]+)?$";

fn credential_files() -> Vec<Rule> {
    let p = pw("netrc");
    let templates = Allowlist {
        description: Some("templates".into()),
        paths: vec![r"(?i)\.env\.(?:example|sample|template|dist|defaults|schema|tpl)$".into()],
        ..Allowlist::default()
    };
    vec![
        Rule::new("netrc-password", "Password in netrc (machine … login … password …)")
            .regex(r"(?i)(?:\bmachine[ \t\r\n]+[^\s]{1,255}|\bdefault)(?:[ \t\r\n]+(?:login|account|port)[ \t\r\n]+[^\s]{1,255}){0,3}[ \t\r\n]+password[ \t\r\n]+([^\s]{3,255})")
            .group(1)
            .keywords(&["machine"])
            .validate(Validation::Password)
            .allow(Allowlist {
                description: Some("anonymous FTP: the password is by convention an e-mail address".into()),
                regex_target: RegexTarget::Match,
                regexes: vec![r"(?i)\blogin[ \t\r\n]+(?:anonymous|ftp)\b".into()],
                ..Allowlist::default()
            })
            .tags(&["netrc", "password"])
            .examples(&[
                format!("machine api.heroku.com login ci@acme.io password {p}\n"),
                format!("machine git.internal\n  login deploy\n  password {p}\n"),
                format!("echo \"machine github.com login x-access-token password {p}\" > ~/.netrc"),
            ])
            .negatives(&[
                "machine example.com login user password $NETRC_PASSWORD",
                "machine ftp.freebsd.org login anonymous password <your-email>",
                "default machine setting: the password is read from the keyring",
                "machine ftp.gnu.org login anonymous password guest@",
            ]),
        Rule::new("pgpass-password", "Password in a PostgreSQL password file (.pgpass)")
            .regex(r"(?m)^[^#:\s][^:\r\n]*:(?:[0-9]{1,5}|\*):[^:\r\n]+:[^:\r\n]+:([^\r\n]{3,})$")
            .path(r"(?:^|/)\.?pgpass(?:\.conf)?$")
            .path_examples(&[".pgpass", "home/app/.pgpass"], &["pgpass.md", "src/db.rs"])
            .group(1)
            .validate(Validation::UrlPassword)
            .tags(&["postgres", "password"])
            .examples(&[format!("db.prod.internal:5432:app:app_user:{}\n", pw("pgpass"))])
            .negatives(&["# hostname:port:database:username:password\n*:*:*:postgres:${PGPASSWORD}\nlocalhost:5432:keycloak:keycloak:keycloak\n"]),
        Rule::new("pgpass-line", "PostgreSQL password-file line written by a script or playbook")
            .regex(r"(?m)^[ \t\x22'>-]*[A-Za-z0-9_.\-*]{1,253}:(?:[0-9]{1,5}|\*):[^:\s]{1,63}:[^:\s]{1,63}:([^\s\x22']{3,})[\x22']?[ \t]*$")
            .group(1)
            .keywords(&[":5432:", ":*:"])
            .validate(Validation::UrlPassword)
            .required(&["pgpass-mention"])
            .tags(&["postgres", "password"])
            .examples(&[format!(
                "- name: pgpass\n  copy:\n    dest: /home/app/.pgpass\n    content: |\n      db.internal:5432:app:app:{}\n",
                pw("pgpass-line")
            )])
            .negatives(&["time: 10:5432:00:00:00\n"]),
        Rule::new("option-file-password", "Password in a MySQL option file or tool credentials file")
            .regex(r"(?im)^[ \t]*(?:password|passwd|pass|secret_key|aws_secret_access_key|api_key|token)[ \t]*[:=][ \t]*[\x22']?([^\s\x22'#;]{3,})")
            .path(r"(?i)(?:^|/)(?:\.?my\.cnf|\.mylogin\.cnf|[^/]+\.cnf|\.pypirc|\.s3cfg|\.boto|\.gem/credentials|\.?credentials)$")
            .path_examples(&[".my.cnf", "etc/mysql/conf.d/backup.cnf", ".pypirc", ".aws/credentials"], &["README.md", "src/main.py"])
            .group(1)
            .validate(Validation::Password)
            .tags(&["password"])
            .examples(&[
                format!("[client]\nuser=backup\npassword={}\n", pw("mycnf")),
                format!("[pypi]\nusername = __token__\npassword = {}\n", pw("pypirc")),
            ])
            .negatives(&["[client]\npassword=\n", "[client]\npassword = <password>\n"]),
        Rule::new("dotenv-secret", "Secret in a .env file")
            .regex(r"(?im)^[ \t]*(?:export[ \t]+)?([A-Z_a-z][A-Za-z0-9_]*(?:key|secret|token|passwd|password|pass|pwd|credentials?|auth|private|salt|signature|dsn|cookie)[A-Za-z0-9_]*)[ \t]*=[ \t]*[\x22']?([^\s\x22'#]{6,})")
            .path(DOTENV)
            .path_examples(&[".env", "app/.env.production"], &["env.py", "docs/setup.md"])
            .group(2)
            .keywords(&["key", "secret", "token", "pass", "pwd", "credential", "auth", "private", "salt", "signature", "dsn", "cookie"])
            .entropy(2.5)
            .validate(Validation::Generic)
            .allow(templates)
            .tags(&["dotenv", "generic"])
            .examples(&[
                format!("APP_NAME=shop\nSESSION_SECRET={}\n", rnd("dotenv", ALNUM, 24)),
                format!("export STRIPE_KEY=\"{}\"\n", rnd("dotenv2", ALNUM, 20)),
            ])
            .negatives(&["SECRET_KEY=${SECRET_KEY}\n", "API_TOKEN=your-token-here\n", "PUBLIC_KEY_PATH=./keys/public.pem\n"]),
        Rule::new("kubeconfig-credential", "Token or password in a kubeconfig")
            .regex(r"(?m)^[ \t]+(?:token|password)[ \t]*:[ \t]*[\x22']?([^\s\x22']{8,})")
            .path(r"(?:^|/)\.kube/config$|(?:^|/)kubeconfig(?:[_\-][^/.]*)?(?:\.ya?ml|\.conf)?$")
            .path_examples(&[".kube/config", "deploy/kubeconfig.yaml"], &["docs/kubeconfig.md", "values.yaml"])
            .group(1)
            .keywords(&["token", "password"])
            .validate(Validation::Password)
            .tags(&["kubernetes"])
            .examples(&[format!("users:\n- name: ci\n  user:\n    token: {}\n", rnd("kubetoken", ALNUM, 40))])
            .negatives(&["users:\n- name: ci\n  user:\n    token: ${KUBE_TOKEN}\n"]),
        Rule::new("terraform-state-secret", "Secret attribute in Terraform state")
            .regex(r#""(?:password|secret|token|access_key|secret_key|private_key|client_secret|master_password|admin_password|connection_string|primary_access_key|api_key)"[ \t]*:[ \t]*"([^"\\]{6,})""#)
            .path(r"\.tfstate(?:\.backup)?$")
            .path_examples(&["terraform.tfstate", "infra/terraform.tfstate.backup"], &["main.tf", "state.json"])
            .group(1)
            .keywords(&["password", "secret", "token", "key", "connection_string"])
            .validate(Validation::Password)
            .tags(&["terraform"])
            .examples(&[format!("{{\"attributes\": {{\"password\": \"{}\"}}}}", pw("tfstate"))])
            .negatives(&["{\"attributes\": {\"password\": \"\", \"secret\": null}}"]),
        Rule::new("rails-master-key", "Rails master key")
            .regex(r"\A[ \t\r\n]*([0-9a-f]{32})[ \t\r\n]*\z")
            .path(r"(?:^|/)config/(?:master|credentials/[a-z0-9_]+)\.key$")
            .path_examples(&["config/master.key", "config/credentials/production.key"], &["config/master.rb", "notes.txt"])
            .group(1)
            .entropy(3.0)
            .tags(&["rails"])
            .examples(&[format!("{}\n", rnd("rails", b"0123456789abcdef", 32))])
            .negatives(&["# put the key here\n"]),
        Rule::new("key-file-secret", "Raw secret key in a *.key file")
            .regex(r"\A[ \t\r\n]*([A-Za-z0-9+/=_\-]{32,})[ \t\r\n]*\z")
            .path(r"\.key$")
            .path_examples(&["tls/server.key", "secrets/hmac.key"], &["keyboard.js", "server.key.example"])
            .group(1)
            .entropy(3.5)
            .tags(&["key"])
            .examples(&[format!("{}\n", rnd("keyfile", B64, 44))])
            .negatives(&["-----BEGIN CERTIFICATE-----\n", "0000000000000000000000000000000000000000\n"]),
        Rule::new("htpasswd-hash", "Password hash in an Apache htpasswd file")
            .regex(r"(?m)^[^:\s#]{1,255}:(\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}|\$2[aby]\$[0-9]{2}\$[./0-9A-Za-z]{53}|\{SHA\}[A-Za-z0-9+/]{27}=|\$[56]\$[^\s:$]{1,16}\$[./0-9A-Za-z]{43,86})$")
            .path(r"(?:^|/)(?:\.htpasswd[^/]*|htpasswd|[^/]+\.htpasswd)$")
            .path_examples(&[".htpasswd", "nginx/htpasswd"], &["htpasswd.go", "docs/auth.md"])
            .group(1)
            .severity(Severity::Warn)
            .tags(&["password-hash"])
            .examples(&["admin:$apr1$Qx3Fh1Ra$0sAUsEzUVqbY0Zl9PdNwq1\n"])
            .negatives(&["# user:hash\n"]),
        Rule::new("wireguard-private-key", "WireGuard private or preshared key")
            .regex(r"(?im)^[ \t]*(?:PrivateKey|PresharedKey)[ \t]*=[ \t]*([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)")
            .group(1)
            .keywords(&["privatekey", "presharedkey"])
            .entropy(3.5)
            .tags(&["wireguard", "private-key"])
            .examples(&[format!("[Interface]\nAddress = 10.0.0.2/32\nPrivateKey = {}A=\n", rnd("wg", B64, 42))])
            .negatives(&["[Interface]\nPrivateKey = <client-private-key>\n"]),
        Rule::new("gnupg-private-key", "GnuPG private key (private-keys-v1.d S-expression)")
            .regex(r"\(private-key[ \t\r\n]{0,8}\([a-z0-9\-]{1,32}[\s\S]{0,4000}?\(d[ \t\r\n]{1,8}#([0-9A-Fa-f]{32,})#")
            .group(1)
            .keywords(&["(private-key"])
            .entropy(3.0)
            .tags(&["gnupg", "private-key"])
            .examples(&[format!(
                "Created: 20240301T101500\nKey: (private-key (rsa (n #00{}#)\n (e #010001#)\n (d #{}#)))\n",
                rnd("gpg-n", b"0123456789ABCDEF", 64),
                rnd("gpg-d", b"0123456789ABCDEF", 64)
            )])
            .negatives(&["Key: (public-key (rsa (n #00AB#)(e #010001#)))"]),
        Rule::new("openvpn-static-key", "OpenVPN static key (tls-auth / tls-crypt)")
            .regex(r"-----BEGIN OpenVPN Static key V1-----((?:[0-9a-fA-F \t\r\n]|\\n){64,}?)-----END OpenVPN Static key V1-----")
            .group(1)
            .keywords(&["openvpn static key"])
            .entropy(3.0)
            .tags(&["openvpn", "private-key"])
            .examples(&[format!(
                "<tls-crypt>\n-----BEGIN OpenVPN Static key V1-----\n{}-----END OpenVPN Static key V1-----\n</tls-crypt>\n",
                (0..16).map(|i| format!("{}\n", rnd(&format!("ovpn{i}"), b"0123456789abcdef", 32))).collect::<String>()
            )])
            .negatives(&["-----BEGIN OpenVPN Static key V1-----\n...\n-----END OpenVPN Static key V1-----\n"]),
    ]
}

fn command_lines() -> Vec<Rule> {
    let p = pw("cli");
    vec![
        Rule::new("sshpass-password", "Password on an sshpass command line")
            // also as an argument list: ["sshpass", "-p", "secret", "ssh", …]
            .regex(r"\bsshpass[\x22']?(?:[ \t,\x22']+-[A-Za-oq-z][\x22']?[ \t,\x22']+[^\s\x22',]+)*[\x22']?[ \t,\x22']+-p[\x22']?[ \t,]*[\x22']?([^\s\x22',]{3,})")
            .group(1)
            .keywords(&["sshpass"])
            .validate(Validation::Password)
            .tags(&["ssh", "password", "command-line"])
            .examples(&[
                format!("sshpass -p '{p}' ssh deploy@10.0.0.5 uptime"),
                format!("subprocess.run([\"sshpass\", \"-p\", \"{p}\", \"scp\", f, dest])"),
            ])
            .negatives(&["sshpass -p \"$SSHPASS\" ssh host", "sshpass -e ssh host"]),
        Rule::new("mysql-cli-password", "Password on a mysql client command line")
            .regex(r"\bmysql(?:dump|admin|import|check|show|sh|pump|binlog)?(?:[ \t]+[^\s|;&]+){0,8}?[ \t]+(?:-p([^\s\x22'][^\s\x22']{2,})|-p[\x22']([^\s\x22']{3,})[\x22']|--password[= ][\x22']?([^\s\x22']{3,}))")
            .keywords(&["mysql"])
            .validate(Validation::Password)
            .tags(&["mysql", "password", "command-line"])
            .examples(&[
                format!("mysql -h db -u root -p{p} app < dump.sql"),
                format!("mysqldump --user=backup --password={p} --all-databases"),
            ])
            .negatives(&["mysql -u root -p app", "mysql -u root -p\"$MYSQL_PWD\" app", "mysql --password=${DB_PASS}"]),
        Rule::new("curl-user-password", "Password in a curl -u / --user option")
            .regex(r"\bcurl\b[^\r\n|;&]{0,200}?[ \t](?:-u|--user)[ \t=]*[\x22']?[^\s:\x22'$]{1,64}:([^\s\x22'@]{3,})")
            .group(1)
            .keywords(&["curl"])
            .validate(Validation::Password)
            .tags(&["http", "password", "command-line"])
            .examples(&[format!("curl -fsS -u admin:{p} https://nexus.internal/service/rest/v1/status")])
            .negatives(&["curl -u \"$USER:$PASS\" https://x", "curl -u admin: https://x", "curl -u user:${TOKEN} https://x"]),
        Rule::new("pgpassword-variable", "PostgreSQL password in PGPASSWORD")
            .regex(r"\bPGPASSWORD[ \t]*[=:][ \t]*[\x22']?([^\s\x22';]{3,})")
            .group(1)
            .keywords(&["pgpassword"])
            .validate(Validation::Password)
            .tags(&["postgres", "password", "command-line"])
            .examples(&[format!("PGPASSWORD={p} psql -h db -U app -c 'select 1'")])
            .negatives(&["PGPASSWORD=$DB_PASSWORD psql", "export PGPASSWORD=\"${PGPASSWORD:-}\""]),
        Rule::new("docker-login-password", "Password on a docker login command line")
            .regex(r"\b(?:docker|podman|buildah|skopeo|helm(?:[ \t]+registry)?)[ \t]+login\b[^\r\n|;&]{0,200}?[ \t](?:-p|--password)(?:[ \t]+|=)[\x22']?([^\s\x22']{3,})")
            .group(1)
            .keywords(&["docker login", "podman login", "buildah login", "skopeo login", "registry login", "helm login"])
            .validate(Validation::Password)
            .tags(&["docker", "password", "command-line"])
            .examples(&[format!("docker login -u ci -p {p} registry.acme.io")])
            .negatives(&["docker login -u ci --password-stdin registry.acme.io", "docker login -u ci -p $CI_REGISTRY_PASSWORD $CI_REGISTRY"]),
        Rule::new("cli-password-option", "Password in a command's --password option (wget, smbclient, redis-cli, net use, …)")
            .regex(r"(?i)(?:\bwget[^\r\n|;&]{0,200}?[ \t]--(?:ftp-|http-)?password=[\x22']?([^\s\x22']{3,})|\bredis-cli[^\r\n|;&]{0,200}?[ \t,\x22']-a[\x22']?[ \t,]+[\x22']?([^\s\x22',\-][^\s\x22',]{2,})|\bsmbclient[^\r\n|;&]{0,200}?[ \t](?:-U|--user)[ \t=]*[\x22']?[^\s%\x22']{1,64}%([^\s\x22']{3,})|\bnet[ \t]+use\b[^\r\n|;&]{0,200}?/user:[^\s]{1,64}[ \t]+([^\s/*\x22'][^\s\x22']{2,})|\bnet[ \t]+use[ \t]+(?:[A-Z]:[ \t]+)?\\\\[^\s]{1,255}[ \t]+([^\s/*\x22'][^\s\x22']{2,})[ \t]+/user:|--requirepass[\x22']?[ \t,=]+[\x22']?([^\s\x22',]{3,})|[ \t]-pass(?:in|out)[ \t]+[\x22']?pass:([^\s\x22']{3,})|--(?:ks|key)-pass[ \t]+[\x22']?pass:([^\s\x22']{3,})|[ \t]-(?:storepass|keypass|srcstorepass|deststorepass)[ \t]+[\x22']?([^\s\x22'$\-][^\s\x22']{2,})|\blftp\b[^\r\n|;&]{0,200}?[ \t]-u[ \t]+[\x22']?[^\s,\x22']{1,64},([^\s\x22']{3,})|\bncftp(?:put|get|ls)?\b[^\r\n|;&]{0,200}?[ \t]-p[ \t]+[\x22']?([^\s\x22'\-][^\s\x22']{2,})|\bmongo(?:sh|dump|restore|import|export|stat|top|files)?\b[^\r\n|;&]{0,200}?[ \t](?:-p|--password)[ \t=]+[\x22']?([^\s\x22'\-][^\s\x22']{2,})|\bConvertTo-SecureString[ \t]+(?:-String[ \t]+)?[\x22']([^\x22'\r\n]{3,})[\x22'][ \t]+-AsPlainText)")
            .keywords(&["wget", "redis-cli", "smbclient", "net use", "requirepass", "pass:", "storepass", "keypass", "convertto-securestring", "lftp", "ncftp", "mongo"])
            .validate(Validation::Password)
            .tags(&["password", "command-line"])
            .examples(&[
                format!("wget --user=ci --password={p} https://files.internal/a.tgz"),
                format!("redis-cli -h cache -p 6380 -a {p} FLUSHDB"),
                format!("smbclient //fs01/share -U 'svc%{p}' -c ls"),
                format!("net use Z: \\\\fs01\\share /user:CORP\\svc {p} /persistent:yes"),
                format!("net use Z: \\\\fs01\\drops {p} /user:CORP\\svc"),
                format!("command: [\"redis-server\", \"--requirepass\", \"{p}\"]"),
                format!("openssl pkcs12 -export -in a.crt -inkey a.key -out a.p12 -passout pass:{p}"),
                format!("apksigner sign --ks release.jks --ks-pass pass:{p} app.apk"),
                format!("keytool -importcert -keystore t.jks -storepass {p} -file ca.crt"),
                format!("$s = ConvertTo-SecureString '{p}' -AsPlainText -Force"),
                format!("lftp -u media,{p} sftp://files.internal -e 'mirror; quit'"),
                format!("ncftpput -u sync -p {p} origin.internal /media a.webp"),
                format!("mongosh --host db --username admin -p '{p}' --eval 'db.stats()'"),
                format!("mongorestore --username admin --password '{p}' --archive=a"),
            ])
            .negatives(&[
                "wget --password=$PASS https://x",
                "redis-cli -a \"$REDIS_PASSWORD\" ping",
                "net use Z: \\\\fs01\\share /user:CORP\\svc *",
                "openssl pkcs12 -export -passout pass:$P12_PASSWORD -out a.p12",
                "$s = ConvertTo-SecureString $env:SVC_PASSWORD -AsPlainText -Force",
            ]),
        Rule::new("htpasswd-cli-password", "Password on an htpasswd -b command line")
            .regex(r"\bhtpasswd[ \t]+(?:-[A-Za-z]+[ \t]+)*-[A-Za-z]*b[A-Za-z]*[ \t]+(?:-[A-Za-z]+[ \t]+)*(?:[^\s\-][^\s]*[ \t]+)?[^\s\-][^\s]*[ \t]+[\x22']?([^\s\x22'|;&]{3,})")
            .group(1)
            .keywords(&["htpasswd"])
            .validate(Validation::Password)
            .tags(&["http", "password", "command-line"])
            .examples(&[format!("htpasswd -bc /etc/nginx/.htpasswd admin {p}"), format!("htpasswd -nbB admin '{p}'")])
            .negatives(&["htpasswd -c /etc/nginx/.htpasswd admin", "htpasswd -b .htpasswd admin \"$ADMIN_PASSWORD\""]),
    ]
}

fn connections() -> Vec<Rule> {
    let p = pw("dsn");
    let basic = b64(format!("deploy:{p}").as_bytes());
    vec![
        Rule::new("go-dsn-password", "Password in a Go SQL DSN (user:pass@tcp(host)/db)")
            .regex(r"(?:^|[\s\x22'`=])[A-Za-z0-9_.\-]{1,64}:([^@\s\x22'`/:]{3,})@(?:tcp|unix|udp|tcp6)\([^)\s]{0,255}\)/")
            .group(1)
            .keywords(&["@tcp(", "@unix(", "@udp(", "@tcp6("])
            .validate(Validation::Password)
            .tags(&["database", "password"])
            .examples(&[format!("dsn := \"app:{p}@tcp(db.internal:3306)/shop?parseTime=true\"")])
            .negatives(&["dsn := \"app:${DB_PASS}@tcp(db:3306)/shop\"", "dsn := fmt.Sprintf(\"%s:%s@tcp(%s)/%s\", u, p, h, d)"]),
        Rule::new("jdbc-oracle-password", "Password in an Oracle JDBC URL (user/password@host)")
            .regex(r"(?i)jdbc:oracle:(?:thin|oci):[A-Za-z0-9_$#]{1,64}/([^@\s\x22']{3,})@")
            .group(1)
            .keywords(&["jdbc:oracle"])
            .validate(Validation::Password)
            .tags(&["database", "password"])
            .examples(&[format!("url=jdbc:oracle:thin:scott/{p}@db.internal:1521:ORCL")])
            .negatives(&["url=jdbc:oracle:thin:@db.internal:1521:ORCL"]),
        Rule::new("http-basic-auth", "HTTP basic authentication credentials (Authorization: Basic)")
            // the header in any syntax (`Authorization: Basic …`, nginx `proxy_set_header
            // Authorization "Basic …"`, .NET `AuthenticationHeaderValue("Basic", "…")`, a
            // header value in YAML or JSON): the base64 must decode to user:password
            .regex(r"(?i)\bBasic(?:[ \t]+|[\x22'][ \t]*,[ \t]*[\x22'])([A-Za-z0-9+/]{8,}={0,2})(?:[^A-Za-z0-9+/=]|\z)")
            .group(1)
            .keywords(&["basic"])
            .validate(Validation::BasicAuth)
            .allow(Allowlist {
                description: Some("RFC 7617's own example (Aladdin:open sesame)".into()),
                stopwords: vec!["QWxhZGRpbjpvcGVuIHNlc2FtZQ".into()],
                ..Allowlist::default()
            })
            .tags(&["http", "password"])
            .examples(&[
                format!("curl -H \"Authorization: Basic {basic}\" https://ci.internal/api"),
                format!("headers = {{'Authorization': 'Basic {basic}'}}"),
                format!("new AuthenticationHeaderValue(\"Basic\", \"{basic}\");"),
                format!("proxy_set_header Authorization \"Basic {basic}\";"),
            ])
            .negatives(&[
                // user:password
                "Authorization: Basic dXNlcjpwYXNzd29yZA==",
                "Authorization: Basic ${BASIC_AUTH}",
                "Authorization: Basic <credentials>",
                "Basic authentication is configured below",
            ]),
    ]
}

fn headers_and_calls() -> Vec<Rule> {
    let p = pw("calls");
    let bearer = rnd("bearer", ALNUM, 40);
    vec![
        Rule::new("http-bearer-token", "Bearer token in an HTTP Authorization header")
            .regex(r"(?i)\bBearer(?:[ \t]+|[\x22'][ \t]*,[ \t]*[\x22'])([A-Za-z0-9\-._~+/]{20,}=*)(?:[^A-Za-z0-9\-._~+/=]|\z)")
            .group(1)
            .keywords(&["bearer"])
            .entropy(3.5)
            .validate(Validation::Generic)
            .tags(&["http", "generic"])
            .examples(&[
                format!("curl -H \"Authorization: Bearer {bearer}\" https://api.partner.io/v1/zones"),
                format!(".addHeader(\"Authorization\", \"Bearer {bearer}\")"),
            ])
            .negatives(&[
                "-H \"Authorization: Bearer $API_TOKEN\"",
                "headers['Authorization'] = 'Bearer ' + token",
                "Authorization: Bearer <access_token>",
                "TokenTypeBearer = \"Bearer\"",
            ]),
        Rule::new("api-key-header", "API key in an HTTP header (X-API-Key, api-key, …)")
            .regex(r"(?i)\b(?:x-api-key|api-key|x-auth-token|x-access-token|x-apikey|private-token)[\x22']?[ \t]*[:=,][ \t]*[\x22']?([A-Za-z0-9\-._~+/]{16,}=*)(?:[^A-Za-z0-9\-._~+/=]|\z)")
            .group(1)
            .keywords(&["api-key", "auth-token", "access-token", "x-apikey", "private-token"])
            .entropy(3.5)
            .validate(Validation::Generic)
            .tags(&["http", "generic"])
            .examples(&[format!("curl -H 'X-API-Key: {bearer}' https://api.partner.io/v1/"), format!("PRIVATE-TOKEN: {bearer}")])
            .negatives(&["-H \"X-API-Key: ${PARTNER_KEY}\"", "const HEADER = 'X-API-Key';"]),
        Rule::new("db-connect-password", "Password passed to a database connect call (getConnection(url, user, password))")
            .regex(r"(?i)\b(?:getConnection|DriverManager\.getConnection|createConnection|sql\.Open|connect)\([^()\r\n]{1,160}?,[ \t]*[\x22'][^\x22'\r\n]{1,64}[\x22'][ \t]*,[ \t]*[\x22']([^\x22'\s]{3,})[\x22'][ \t]*\)")
            .group(1)
            .keywords(&["connect"])
            .validate(Validation::Password)
            .tags(&["database", "password"])
            .examples(&[format!("DriverManager.getConnection(URL, \"jobs\", \"{p}\")")])
            .negatives(&["DriverManager.getConnection(URL, \"jobs\", System.getenv(\"DB_PASSWORD\"))", "getConnection(url, \"sa\", \"\")"]),
        Rule::new("name-value-secret", "Secret in a name/value pair (Postman, ECS, Kubernetes env, …)")
            .regex(r"(?i)[\x22']?(?:key|name)[\x22']?[ \t]*:[ \t]*[\x22']?([A-Za-z0-9_.\-]{0,40}(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|credentials?)[A-Za-z0-9_.\-]{0,20})[\x22']?[ \t]*,?[ \t]*\r?\n?[ \t]{0,40}-?[ \t]*[\x22']?value[\x22']?[ \t]*:[ \t]*[\x22']?([^\s\x22',}]{8,200})")
            .group(2)
            // the name's line opens the window; the value may follow on the next line
            .keywords(&["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key", "credential"])
            .entropy(3.0)
            .validate(Validation::Password)
            .tags(&["generic"])
            .examples(&[
                format!("{{\"key\": \"token\", \"value\": \"{bearer}\", \"type\": \"string\"}}"),
                format!("env:\n  - name: DB_PASSWORD\n    value: \"{p}x1\"\n"),
            ])
            .negatives(&[
                "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef: {name: db, key: password}\n",
                "{\"name\": \"DB_PASSWORD\", \"valueFrom\": \"arn:aws:ssm:eu-west-1:1:parameter/db\"}",
                "{\"key\": \"token\", \"value\": \"{{token}}\"}",
            ]),
        Rule::new("session-cookie", "Session cookie in a captured request (HAR, curl trace, Cookie header)")
            .regex(r"(?i)\bcookie(?:[\x22'][ \t]*,[ \t\r\n]{1,60}[\x22']value[\x22'][ \t]*:[ \t]*[\x22'])?[^\r\n]{0,200}?\b(?:sid|sessionid|session_id|session|connect\.sid|phpsessid|jsessionid|[a-z0-9_]{0,30}_session|asp\.net_sessionid)=([A-Za-z0-9%\-_.~+/]{20,})")
            .group(1)
            .keywords(&["cookie"])
            .entropy(3.5)
            .validate(Validation::Generic)
            .tags(&["http", "session"])
            .examples(&[
                format!("{{ \"name\": \"cookie\", \"value\": \"sid={}; theme=dark\" }}", rnd("sid", ALNUM, 40)),
                format!("Cookie: theme=dark; sessionid={}", rnd("sid2", ALNUM, 32)),
                format!("{{\n  \"name\": \"cookie\",\n  \"value\": \"theme=dark; app_session={}\"\n}}", rnd("sid3", ALNUM, 40)),
            ])
            .negatives(&["Cookie: sessionid=${SESSION}", "cookie_name = 'sessionid=placeholder-value-here'"]),
        Rule::new("azure-logic-app-url", "Azure Logic Apps / Power Automate trigger URL with signature")
            .regex(r"https://[a-z0-9\-]{1,60}\.[a-z0-9\-]{1,40}\.logic\.azure\.com(?::443)?/workflows/[0-9a-f]{32}/triggers/[^\s\x22'<>]{1,400}?[?&]sig=([A-Za-z0-9_\-%]{40,})")
            .group(1)
            .keywords(&["logic.azure.com"])
            .entropy(3.5)
            .tags(&["azure", "webhook"])
            .examples(&[format!(
                "\"FlowUrl\": \"https://prod-70.westeurope.logic.azure.com:443/workflows/{}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={}\"",
                rnd("logic-wf", b"0123456789abcdef", 32),
                rnd("logic-sig", ALNUM, 43)
            )])
            .negatives(&["https://prod-70.westeurope.logic.azure.com/workflows/<id>/triggers/manual?sig=<sig>"]),
        Rule::new("basic-auth-call", "Password passed to a basic-auth call (HTTPBasicAuth, SetBasicAuth, .auth.basic, …)")
            .regex(r"(?i)(?:HTTPBasicAuth|BasicAuth|SetBasicAuth|setBasicAuth|basicAuth|withBasicAuth|basic_auth|auth\.basic|Credentials|UsernamePasswordCredentials|NetworkCredential|PasswordAuthentication)\([ \t]*[\x22'][^\x22'\r\n]{1,64}[\x22'][ \t]*,[ \t]*[\x22']([^\x22'\s]{3,})[\x22']")
            .group(1)
            .keywords(&["basicauth", "basic_auth", "auth.basic", "credentials(", "credential(", "passwordauthentication("])
            .validate(Validation::Password)
            .tags(&["http", "password"])
            .examples(&[
                format!("r = requests.get(url, auth=HTTPBasicAuth(\"svc\", \"{p}\"))"),
                format!("req.SetBasicAuth(\"svc\", \"{p}\")"),
                format!(".auth.basic(\"svc-reporting\", \"{p}\")"),
            ])
            .negatives(&["req.SetBasicAuth(\"svc\", os.Getenv(\"PASS\"))", "HTTPBasicAuth(\"user\", \"pass\")"]),
        Rule::new("django-secret-key", "Django SECRET_KEY")
            .regex(r"\bSECRET_KEY[ \t]*=[ \t]*[\x22']((?:django-insecure-)?[^\x22'\s]{40,})[\x22']")
            .group(1)
            .keywords(&["secret_key"])
            .entropy(4.0)
            .validate(Validation::Password)
            .tags(&["django"])
            .examples(&[format!("SECRET_KEY = '{}'", rnd("django", b"abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)", 50))])
            .negatives(&["SECRET_KEY = os.environ['DJANGO_SECRET_KEY']", "SECRET_KEY = 'django-insecure-changeme-changeme-changeme-changeme'"]),
    ]
}

fn markup_and_sql() -> Vec<Rule> {
    let p = pw("markup");
    vec![
        Rule::new("xml-element-secret", "Password or secret in an XML element (Maven settings.xml, …)")
            .regex(r"(?i)<([A-Za-z0-9_.\-]{0,32}(?:password|passwd|secret|token|apikey|api-key|api_key|privatekey|passphrase)[A-Za-z0-9_.\-]{0,16})>[ \t]*([^<\s]{6,})[ \t]*</")
            .group(2)
            .keywords(&["password>", "passwd>", "secret>", "token>", "key>", "passphrase>"])
            .validate(Validation::Generic)
            .tags(&["xml", "generic"])
            .examples(&[format!("<server>\n  <id>releases</id>\n  <username>deployer</username>\n  <password>{p}</password>\n</server>")])
            .negatives(&["<password>${env.MAVEN_PASSWORD}</password>", "<passwordPolicy>strict-mode-enabled</passwordPolicy>"]),
        Rule::new("xml-key-value-secret", "Secret in a key/value XML setting (.NET appSettings, …)")
            .regex(r"(?i)<add[ \t]+key=[\x22']([A-Za-z0-9_.:\-]{0,40}(?:password|passwd|pwd|secret|token|apikey|api_key|api-key|key)[A-Za-z0-9_.:\-]{0,16})[\x22'][ \t]+value=[\x22']([^\x22'\s]{8,})[\x22']")
            .group(2)
            .keywords(&["<add"])
            .entropy(3.0)
            .validate(Validation::Generic)
            .tags(&["xml", "dotnet", "generic"])
            .examples(&[format!("<add key=\"PartnerApiKey\" value=\"{}\" />", rnd("xmlkv", ALNUM, 32))])
            .negatives(&["<add key=\"ApiKeyHeader\" value=\"X-Api-Key-Name\" />", "<add key=\"Password\" value=\"#{Password}#\" />"]),
        Rule::new("plist-secret", "Secret in a property list (<key>…Secret</key><string>…</string>)")
            .regex(r"(?i)<key>([A-Za-z0-9_.\-]{0,40}(?:password|passwd|secret|token|apikey|api_key|privatekey|passphrase)[A-Za-z0-9_.\-]{0,16})</key>[ \t\r\n]{0,40}<string>([^<\s]{8,})</string>")
            .group(2)
            .keywords(&["</key>"])
            .validate(Validation::Generic)
            .tags(&["plist", "generic"])
            .examples(&[format!("<key>OAuthClientSecret</key>\n\t<string>{}</string>", rnd("plist", ALNUM, 40))])
            .negatives(&["<key>OAuthClientSecret</key>\n\t<string>$(OAUTH_SECRET)</string>"]),
        Rule::new("terraform-variable-default", "Secret as the default of a Terraform variable")
            .regex(r#"(?i)\bvariable[ \t]+"([a-z0-9_\-]*(?:password|passwd|secret|token|api_key|apikey|private_key|credentials?))"[ \t]*\{[^}]{0,400}?\bdefault[ \t]*=[ \t]*"([^"\s$]{6,})""#)
            .group(2)
            .keywords(&["variable"])
            .entropy(2.5)
            .validate(Validation::Password)
            .tags(&["terraform"])
            .examples(&[format!("variable \"db_password\" {{\n  type      = string\n  sensitive = true\n  default   = \"{p}\"\n}}")])
            .negatives(&["variable \"db_password\" {\n  type = string\n  default = \"\"\n}", "variable \"secret_name\" {\n  default = \"prod/db\"\n}"]),
        Rule::new("sql-password", "Password in SQL (CREATE/ALTER ROLE|USER … PASSWORD, IDENTIFIED BY)")
            .regex(r"(?i)\b(?:(?:WITH|LOGIN|ROLE|USER)[ \t]+(?:[A-Za-z_]+[ \t]+){0,3}?(?:ENCRYPTED[ \t]+)?PASSWORD|IDENTIFIED[ \t]+(?:WITH[ \t]+[A-Za-z_]+[ \t]+)?BY)[ \t]+'([^'\s]{3,})'")
            .group(1)
            .keywords(&["password", "identified"])
            .validate(Validation::Password)
            .tags(&["sql", "password"])
            .examples(&[
                format!("CREATE ROLE reporting LOGIN PASSWORD '{p}';"),
                format!("ALTER USER etl WITH PASSWORD '{p}';"),
                format!("CREATE USER 'app'@'%' IDENTIFIED BY '{p}';"),
            ])
            .negatives(&["CREATE ROLE app LOGIN PASSWORD :'app_password';", "ALTER USER etl WITH PASSWORD 'md53175bce1d3201d16594cebf9d7eb3f9d'", "CREATE USER 'app'@'%' IDENTIFIED BY '${APP_PASSWORD}';"]),
        Rule::new("wordpress-auth-salt", "WordPress authentication key or salt (wp-config.php)")
            .regex(r"define\([ \t]*[\x22'](?:AUTH|SECURE_AUTH|LOGGED_IN|NONCE)_(?:KEY|SALT)[\x22'][ \t]*,[ \t]*'([^'\r\n]{32,})'")
            .group(1)
            .keywords(&["_key'", "_salt'", "_key\"", "_salt\""])
            // salts are any printable characters (WordPress's generator uses brackets and
            // backticks too), so no placeholder filter: the entropy floor and the stock
            // "put your unique phrase here" are what tell a template
            .entropy(4.0)
            .allow(Allowlist {
                stopwords: vec!["unique phrase".into()],
                ..Allowlist::default()
            })
            .tags(&["wordpress"])
            .examples(&[format!("define( 'AUTH_KEY',          '{}' );", rnd("wp", b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!@#%^&*()-_=+|;:,.?~", 64))])
            .negatives(&["define( 'AUTH_KEY',         'put your unique phrase here' );"]),
    ]
}

fn structural() -> Vec<Rule> {
    let aws_id = format!(
        "AKIA{}",
        rnd("aws-pair-id", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    );
    let aws_secret = rnd("aws-pair-secret", B64, 40);
    let snowflake = b64(b"112233445566778899");
    let discord = format!(
        "{}.{}.{}",
        snowflake.trim_end_matches('='),
        rnd("disc-ts", ALNUM, 6),
        rnd("disc-mac", ALNUM, 38)
    );
    let k8s_pw = b64(pw("k8s").as_bytes());
    vec![
        Rule::new("aws-secret-access-key-near-id", "AWS secret access key beside its access key id")
            .regex(r"(?s)\b(?:AKIA|ASIA)[A-Z0-9]{16}\b[^A-Za-z0-9+/]{1,40}?(?:[^\r\n]{0,80}?[^A-Za-z0-9+/])?([A-Za-z0-9+/]{40})(?:[^A-Za-z0-9+/=]|\z)|(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{40})[^A-Za-z0-9+/=][^\r\n]{0,80}?\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
            .keywords(&["akia", "asia"])
            .entropy(4.2)
            .allow(Allowlist {
                description: Some("AWS documentation example keys".into()),
                regex_target: RegexTarget::Match,
                regexes: vec!["EXAMPLE".into()],
                ..Allowlist::default()
            })
            .tags(&["aws"])
            .examples(&[
                format!("{aws_id},{aws_secret}"),
                format!("client = boto3.client('s3', '{aws_id}', '{aws_secret}')"),
            ])
            .negatives(&[
                "AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
                format!("{aws_id} {}", rnd("aws-pair-hex", b"0123456789abcdef", 40)),
            ]),
        Rule::new("discord-bot-token", "Discord bot token")
            .regex(r"(?:^|[^A-Za-z0-9_\-.])([MNO][A-Za-z0-9]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})(?:[^A-Za-z0-9_\-.]|\z)")
            .group(1)
            // on lines that say what the value is for (a token, a bot, a client's run/login
            // call), whichever service: a pattern without a literal start or keyword would
            // cost every blob a full extra pass
            .keywords(&["discord", "token", "bot", ".run(", "login(", "auth"])
            .entropy(3.5)
            .validate(Validation::DiscordBotToken)
            .tags(&["discord"])
            .examples(&[format!("client.run('{discord}')")])
            .negatives(&[format!("token = 'MTA{}.abcdef.{}'", rnd("disc-n", ALNUM, 22), rnd("disc-n2", ALNUM, 38))]),
        Rule::new("kubernetes-secret-data", "Credential in a Kubernetes Secret (base64 data value)")
            .regex(r"(?im)^[ \t]+[\x22']?([A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|key|credentials?|auth|dsn|connection[_\-]?string)[A-Za-z0-9_.\-]*)[\x22']?[ \t]*:[ \t]*[\x22']?([A-Za-z0-9+/]{8,}={0,2})[\x22']?[ \t]*$")
            .group(2)
            .keywords(&["password", "passwd", "pwd", "secret", "token", "key", "credential", "auth", "dsn", "connection"])
            .validate(Validation::Base64Secret)
            // only in a manifest of kind Secret (anywhere in the same file)
            .required(&["kubernetes-secret-kind"])
            .tags(&["kubernetes"])
            .examples(&[format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  username: YXBw\n  password: {k8s_pw}\n")])
            .negatives(&[
                // "changeme"
                "apiVersion: v1\nkind: Secret\ndata:\n  password: Y2hhbmdlbWU=\n".to_string(),
                "apiVersion: v1\nkind: Secret\ndata:\n  api-key-name: ZGJfcGFzc3dvcmQ=\n".to_string(),
            ]),
    ]
}

/// Auxiliary: a file that names a PostgreSQL password file.
fn pgpass_mention() -> Rule {
    let mut r = Rule::new("pgpass-mention", "mentions .pgpass (auxiliary)")
        .regex(r"\.pgpass\b|\bpgpass\.conf\b|\bPGPASSFILE\b")
        .keywords(&["pgpass"])
        .tags(&["postgres"])
        .examples(&["dest: ~/.pgpass"])
        .negatives(&["pgpassword"]);
    r.skip_report = true;
    r
}

/// Auxiliary: a Kubernetes manifest of kind `Secret` (never reported by itself).
fn kubernetes_secret_kind() -> Rule {
    let mut r = Rule::new(
        "kubernetes-secret-kind",
        "Kubernetes Secret manifest (auxiliary)",
    )
    .regex(
        r#"(?m)^[ \t]*[\x22']?kind[\x22']?[ \t]*:[ \t]*[\x22']?Secret[\x22']?[ \t]*,?[ \t]*\r?$"#,
    )
    .keywords(&["secret"])
    .tags(&["kubernetes"])
    .examples(&["apiVersion: v1\nkind: Secret\n"])
    .negatives(&["kind: SecretProviderClass\n"]);
    r.skip_report = true;
    r
}

pub(crate) fn rules() -> Vec<Rule> {
    let mut v = vec![kubernetes_secret_kind(), pgpass_mention()];
    v.extend(credential_files());
    v.extend(command_lines());
    v.extend(connections());
    v.extend(markup_and_sql());
    v.extend(headers_and_calls());
    v.extend(structural());
    v
}

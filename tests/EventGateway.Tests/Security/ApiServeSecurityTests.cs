using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using EventGateway.Server.Security;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using Shouldly;
using static EventGateway.Tests.Security.ApiAuthTests;

namespace EventGateway.Tests.Security;

/// <summary>Token rotation, Secrets as tokens, files at rest, --auth-mode none, TLS and the CLI, each against a real `egw serve`.</summary>
public sealed class ApiServeSecurityTests
{
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    [Fact]
    public async Task A_token_removed_from_the_tokens_file_stops_working_without_a_restart()
    {
        var dir = Directory.CreateTempSubdirectory("egw-rotate-").FullName;
        var (old, next) = (TokenHash.NewToken(), TokenHash.NewToken());
        var file = Path.Combine(dir, "tokens.json");
        await File.WriteAllTextAsync(file, Tokens(("ci", old)));
        try
        {
            await using var serve = await ServeProcess.StartAsync(extra: ["--tokens", file]);
            var pid = serve.Pid;
            (await Send(serve, HttpMethod.Get, "api/v1/workflows/ci", null, null, old)).Status.ShouldBe(HttpStatusCode.OK);
            (await Send(serve, HttpMethod.Get, "api/v1/workflows/ci", null, null, next)).Status.ShouldBe(HttpStatusCode.Unauthorized);

            await File.WriteAllTextAsync(file, Tokens(("ci-next", next)));
            (await Send(serve, HttpMethod.Get, "api/v1/workflows/ci", null, null, old)).Status.ShouldBe(HttpStatusCode.Unauthorized);
            (await Send(serve, HttpMethod.Get, "api/v1/workflows/ci", null, null, next)).Status.ShouldBe(HttpStatusCode.OK);
            (await Send(serve, HttpMethod.Post, "api/v1/workflows/ci", Shadow(), "application/json", old)).Status.ShouldBe(HttpStatusCode.Unauthorized);

            // A broken file grants nothing until it is fixed; the admin token is not in it and still works.
            await File.WriteAllTextAsync(file, "tokens: [{name: x");
            (await Send(serve, HttpMethod.Get, "api/v1/workflows/ci", null, null, next)).Status.ShouldBe(HttpStatusCode.Unauthorized);
            (await Send(serve, HttpMethod.Get, "api/v1/workflows/ci", null, null, serve.AdminToken)).Status.ShouldBe(HttpStatusCode.OK);
            serve.Pid.ShouldBe(pid);
            var list = await Send(serve, HttpMethod.Get, "api/v1/workflows/ci", null, null, serve.AdminToken);
            JsonNode.Parse(list.Body)!["items"]!.AsArray().ShouldBeEmpty();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task Serve_refuses_a_bad_tokens_file_before_starting()
    {
        var dir = Directory.CreateTempSubdirectory("egw-badtokens-").FullName;
        try
        {
            var file = Path.Combine(dir, "tokens.yaml");
            await File.WriteAllTextAsync(file, "tokens:\n- {name: weak, token: short, namespaces: [a], role: read}\n");
            var (code, _, stderr) = await CliTests.Egw("serve", "--port", "0", "--data-dir", Path.Combine(dir, "data"), "--tokens", file);
            code.ShouldBe(2);
            stderr.Trim().ShouldBe($"error: --tokens: {file}: tokens[0] (weak).token: shorter than 32 characters; use a random token (e.g. openssl rand -hex 32)");
            await File.WriteAllTextAsync(file, "tokens:\n- {name: x, sha256: abc, namespaces: [a], role: root}\n");
            (await CliTests.Egw("serve", "--port", "0", "--data-dir", Path.Combine(dir, "data"), "--tokens", file)).Err.ShouldContain("sha256: not 64 hex digits");
            Directory.Exists(Path.Combine(dir, "data")).ShouldBeFalse("nothing was made");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task A_labelled_Secret_is_a_token_for_its_own_namespace_only_and_is_revoked_by_unlabelling_it()
    {
        await using var serve = await ServeProcess.StartAsync();
        var token = TokenHash.NewToken();
        string SecretYaml(string label, string? namespaces = null) => $"""
            apiVersion: v1
            kind: Secret
            metadata: {"{"}name: ci-token, namespace: team, labels: {"{"}eventgateway.io/api-token: "{label}"{"}"}{"}"}
            stringData:
              sha256: {TokenHash.Hex(token)}
              role: submit
            {(namespaces is null ? "" : $"  namespaces: \"{namespaces}\"")}
            """;
        (await Send(serve, HttpMethod.Post, "api/v1/apply", SecretYaml("true"), "application/yaml", serve.AdminToken)).Status.ShouldBe(HttpStatusCode.OK);
        await Eventually.Get(async () => (await Send(serve, HttpMethod.Get, "api/v1/workflows/team", null, null, token)).Status == HttpStatusCode.OK ? "in" : null,
            "the Secret's token to be accepted");
        (await Send(serve, HttpMethod.Get, "api/v1/workflows/other", null, null, token)).Status.ShouldBe(HttpStatusCode.Forbidden);

        // A Secret may not mint a token for more than its own namespace.
        (await Send(serve, HttpMethod.Post, "api/v1/apply", SecretYaml("true", "*"), "application/yaml", serve.AdminToken)).Status.ShouldBe(HttpStatusCode.OK);
        await Eventually.Get(async () => (await Send(serve, HttpMethod.Get, "api/v1/workflows/team", null, null, token)).Status == HttpStatusCode.Unauthorized ? "out" : null,
            "the widened Secret's token to be refused");

        (await Send(serve, HttpMethod.Post, "api/v1/apply", SecretYaml("true"), "application/yaml", serve.AdminToken)).Status.ShouldBe(HttpStatusCode.OK);
        await Eventually.Get(async () => (await Send(serve, HttpMethod.Get, "api/v1/workflows/team", null, null, token)).Status == HttpStatusCode.OK ? "in" : null,
            "the Secret's token to be accepted again");
        (await Send(serve, HttpMethod.Post, "api/v1/apply", SecretYaml("false"), "application/yaml", serve.AdminToken)).Status.ShouldBe(HttpStatusCode.OK);
        await Eventually.Get(async () => (await Send(serve, HttpMethod.Get, "api/v1/workflows/team", null, null, token)).Status == HttpStatusCode.Unauthorized ? "out" : null,
            "the unlabelled Secret's token to be refused");
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_data_dir_is_0700_and_every_file_in_it_0600_and_an_open_dir_is_tightened()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-modes-").FullName;
        File.SetUnixFileMode(dataDir, (UnixFileMode)0b111_101_101); // 0755, as older versions left it
        var leftOver = Path.Combine(dataDir, "notes.txt");
        await File.WriteAllTextAsync(leftOver, "x");
        File.SetUnixFileMode(leftOver, (UnixFileMode)0b110_100_100); // 0644
        await using var serve = await ServeProcess.StartAsync(dataDir);
        // A workflow runs, so the store, its WAL and a step's logs have been written.
        using var http = serve.CreateClient();
        (await http.PostAsync("api/v1/workflows/default", new StringContent(Shadow().Replace("cat", "echo"), System.Text.Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.OK);

        File.GetUnixFileMode(dataDir).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.GetUnixFileMode(AdminTokenFile.PathIn(dataDir)).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.GetUnixFileMode(Path.Combine(dataDir, "egw.db")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.GetUnixFileMode(leftOver).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var files = Directory.EnumerateFiles(dataDir, "*", SearchOption.AllDirectories).ToList();
        files.ShouldContain(Path.Combine(dataDir, "egw.db-wal"));
        files.ShouldContain(Path.Combine(dataDir, "events.db"));
        foreach (var f in files) (File.GetUnixFileMode(f) & GroupOrOther).ShouldBe((UnixFileMode)0, f);
    }

    [Fact]
    public async Task The_admin_token_is_printed_at_the_first_start_only()
    {
        var dataDir = Path.Combine(Directory.CreateTempSubdirectory("egw-first-").FullName, "data");
        try
        {
            var first = await StderrUntilServing("--data-dir", dataDir);
            var token = File.ReadAllText(AdminTokenFile.PathIn(dataDir)).Trim();
            first.ShouldContain($"  {token}\n");
            first.ShouldContain($"export EGW_TOKEN={token}");
            var second = await StderrUntilServing("--data-dir", dataDir);
            second.ShouldNotContain(token);
            File.ReadAllText(AdminTokenFile.PathIn(dataDir)).Trim().ShouldBe(token);
        }
        finally { Directory.Delete(Path.GetDirectoryName(dataDir)!, recursive: true); }
    }

    [Fact]
    public async Task Auth_mode_none_on_a_network_address_is_refused_without_insecure_no_auth()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "egw-noauth-" + Guid.NewGuid().ToString("N"));
        var (code, _, stderr) = await CliTests.Egw("serve", "--auth-mode", "none", "--address", "0.0.0.0", "--port", "0", "--data-dir", dataDir);
        code.ShouldBe(2);
        stderr.Trim().ShouldBe("error: --auth-mode none on --address 0.0.0.0 lets anyone who can reach it run commands on this host; " +
            "bind to 127.0.0.1, or add --insecure-no-auth if that is really meant");
        Directory.Exists(dataDir).ShouldBeFalse("nothing was made");
    }

    [Fact]
    public async Task Auth_mode_none_warns_at_every_start_and_still_refuses_cross_site_requests()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-none-").FullName;
        try
        {
            (await StderrUntilServing("--data-dir", dataDir, "--auth-mode", "none")).ShouldContain("WARNING: --auth-mode none: the API on 127.0.0.1 accepts requests without a token");
            await using var serve = await ServeProcess.StartAsync(dataDir, extra: ["--auth-mode", "none"]);
            File.Exists(AdminTokenFile.PathIn(dataDir)).ShouldBeFalse();
            (await Send(serve, HttpMethod.Get, "api/v1/workflows/default", null, null, token: null)).Status.ShouldBe(HttpStatusCode.OK);
            (await Send(serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), "text/plain", token: null)).Status.ShouldBe(HttpStatusCode.UnsupportedMediaType);
            (await Send(serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), "application/json", null, ("Origin", "http://evil.example"))).Status.ShouldBe(HttpStatusCode.Forbidden);
            (await Send(serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), "application/json", null, ("Host", "attacker.example"))).Status.ShouldBe(HttpStatusCode.Forbidden);
            var list = await Send(serve, HttpMethod.Get, "api/v1/workflows/default", null, null, token: null);
            JsonNode.Parse(list.Body)!["items"]!.AsArray().ShouldBeEmpty();
        }
        finally { if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true); }
    }

    [Fact]
    public async Task The_api_answers_over_https_with_the_given_certificate()
    {
        var dir = Directory.CreateTempSubdirectory("egw-tls-").FullName;
        try
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=egw-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            var (certFile, keyFile) = (Path.Combine(dir, "tls.crt"), Path.Combine(dir, "tls.key"));
            await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
            await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());

            await using var serve = await ServeProcess.StartAsync(extra: ["--tls-cert", certFile, "--tls-key", keyFile]);
            serve.BaseAddress.Scheme.ShouldBe("https");
            string? presented = null;
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, c, _, _) => (presented = c?.Thumbprint) == cert.Thumbprint,
            };
            using var http = serve.CreateClient(handler: handler);
            (await http.GetAsync("api/v1/version")).StatusCode.ShouldBe(HttpStatusCode.OK);
            presented.ShouldBe(cert.Thumbprint);
            using var anonymous = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == cert.Thumbprint })
                { BaseAddress = serve.BaseAddress };
            (await anonymous.GetAsync("api/v1/version")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

            var (code, _, stderr) = await CliTests.Egw("serve", "--port", "0", "--data-dir", Path.Combine(dir, "data"), "--tls-cert", certFile);
            code.ShouldBe(2);
            stderr.Trim().ShouldBe("error: --tls-cert and --tls-key go together: give both PEM files");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task The_cli_reads_the_local_admin_token_and_says_in_one_line_what_to_do_on_401_and_403()
    {
        var dir = Directory.CreateTempSubdirectory("egw-clitoken-").FullName;
        var reader = TokenHash.NewToken();
        var file = Path.Combine(dir, "tokens.yaml");
        await File.WriteAllTextAsync(file, $"tokens:\n- {{name: reader, token: {reader}, namespaces: [default], role: read}}\n");
        var wf = Path.Combine(dir, "wf.yaml");
        await File.WriteAllTextAsync(wf, "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: t-}\nspec: {entrypoint: main, templates: [{name: main, container: {image: busybox, command: [echo, hi]}}]}\n");
        try
        {
            await using var serve = await ServeProcess.StartAsync(extra: ["--tokens", file]);
            var server = serve.BaseAddress.ToString();
            (await CliTests.Egw("list", "--server", server)).Code.ShouldBe(0); // the admin token from the server's data directory
            (await CliTests.Egw("list", "--server", server, "--token", reader)).Code.ShouldBe(0);

            var (code, _, stderr) = await CliTests.Egw("list", "--server", server, "--token", TokenHash.NewToken());
            code.ShouldBe(1);
            stderr.Trim().ShouldBe("error: the server refused the request (invalid or revoked token): give a valid token with --token or EGW_TOKEN; " +
                "the server's admin token is in admin.token in its data directory");

            (code, _, stderr) = await CliTests.Egw("submit", wf, "--server", server, "--token", reader);
            code.ShouldBe(1);
            stderr.Trim().ShouldBe("error: forbidden: token 'reader' (read in default) may not POST /api/v1/workflows/default: that needs the submit role: " +
                "use a token whose role and namespaces cover this");
            (await CliTests.Egw("terminate", "x", "--server", server, "--token", reader)).Err.ShouldStartWith("error: forbidden: ");
            JsonNode.Parse((await CliTests.Egw("list", "--server", server, "-o", "json")).Out)!.AsArray().ShouldBeEmpty();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static string Tokens(params (string Name, string Token)[] tokens) =>
        new JsonObject
        {
            ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)new JsonObject
            {
                ["name"] = t.Name, ["sha256"] = TokenHash.Hex(t.Token), ["namespaces"] = new JsonArray("ci"), ["role"] = "submit",
            })]),
        }.ToJsonString();

    /// <summary>Starts `egw serve` and returns what it wrote to stderr up to its "serving" line, then stops it.</summary>
    internal static async Task<string> StderrUntilServing(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "egw.dll"), "serve", "--port", ServeProcess.FreePort().ToString(), "--events-address", "127.0.0.1" }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        var text = new System.Text.StringBuilder();
        try
        {
            using var cts = new CancellationTokenSource(TestEngine.Patience);
            while (await p.StandardError.ReadLineAsync(cts.Token) is { } line)
            {
                text.Append(line).Append('\n');
                if (line.StartsWith("egw serving on", StringComparison.Ordinal)) break;
            }
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        return text.ToString();
    }
}

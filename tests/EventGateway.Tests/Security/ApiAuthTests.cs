using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Server.Security;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>A real `egw serve` with a tokens file: who gets in, and what each token may do.</summary>
public sealed class SecuredServe : IAsyncLifetime
{
    public string Reader { get; } = TokenHash.NewToken();
    public string SubmitterA { get; } = TokenHash.NewToken();
    public string AdminA { get; } = TokenHash.NewToken();
    public ServeProcess Serve { get; private set; } = null!;
    private string _dir = "";

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("egw-tokens-").FullName;
        var file = Path.Combine(_dir, "tokens.yaml");
        await File.WriteAllTextAsync(file, $"""
            tokens:
            - {"{"}name: reader, sha256: {TokenHash.Hex(Reader)}, namespaces: "*", role: read{"}"}
            - {"{"}name: submitter-a, token: {SubmitterA}, namespaces: [a], role: submit{"}"}
            - {"{"}name: admin-a, sha256: {TokenHash.Hex(AdminA)}, namespaces: [a], role: admin{"}"}
            """);
        Serve = await ServeProcess.StartAsync(extra: ["--tokens", file]);
    }

    public async Task DisposeAsync()
    {
        await Serve.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// The attacks reproduced against `egw serve`, each refused by the default configuration with a one-line
/// {"code","message"} error, and nothing created.
/// </summary>
public sealed class ApiAuthTests(SecuredServe fixture) : IClassFixture<SecuredServe>
{
    private ServeProcess Serve => fixture.Serve;

    /// <summary>The tester's workflow: a step that prints /etc/shadow.</summary>
    internal static string Shadow(string? ns = null) =>
        """{"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "shadow-" """ +
        (ns is null ? "" : $", \"namespace\": \"{ns}\"") +
        """}, "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox", "command": ["cat", "/etc/shadow"]}}]}}}""";

    [Fact]
    public async Task Anonymous_submit_is_refused_with_401_and_runs_nothing()
    {
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), "application/json", token: null);
        status.ShouldBe(HttpStatusCode.Unauthorized);
        Code(body).ShouldBe(16);
        Message(body).ShouldContain("missing bearer token");
        await ShouldHaveNoWorkflows("default");
    }

    [Fact]
    public async Task Every_api_path_but_the_probes_needs_a_token()
    {
        foreach (var path in new[] { "api/v1/workflows/default", "api/v1/version", "api/v1/events", "api/v1/sensors/-", "metrics", "api/v1/archived-workflows" })
            (await Send(Serve, HttpMethod.Get, path, null, null, token: null)).Status.ShouldBe(HttpStatusCode.Unauthorized, path);
        (await Send(Serve, HttpMethod.Get, "healthz", null, null, token: null)).Status.ShouldBe(HttpStatusCode.OK);
        (await Send(Serve, HttpMethod.Get, "readyz", null, null, token: null)).Status.ShouldBe(HttpStatusCode.OK);
        (await Send(Serve, HttpMethod.Get, "metrics", null, null, Serve.AdminToken)).Status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_with_401()
    {
        foreach (var token in new[] { TokenHash.NewToken(), Serve.AdminToken + "x", TokenHash.Hex(fixture.Reader) })
        {
            var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), "application/json", token);
            status.ShouldBe(HttpStatusCode.Unauthorized);
            Message(body).ShouldBe("invalid or revoked token");
        }
        // Not a bearer scheme, or the token in a cookie (what a browser would send cross-site): no token at all.
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = Serve.BaseAddress };
        using var req = new HttpRequestMessage(HttpMethod.Get, "api/v1/workflows/default");
        req.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + Serve.AdminToken)));
        req.Headers.Add("Cookie", "token=" + Serve.AdminToken);
        (await http.SendAsync(req)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        await ShouldHaveNoWorkflows("default");
    }

    [Fact]
    public async Task A_read_token_reads_but_may_not_submit()
    {
        (await Send(Serve, HttpMethod.Get, "api/v1/workflows/a", null, null, fixture.Reader)).Status.ShouldBe(HttpStatusCode.OK);
        (await Send(Serve, HttpMethod.Get, "api/v1/workflows/-", null, null, fixture.Reader)).Status.ShouldBe(HttpStatusCode.OK);
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/a", Shadow(), "application/json", fixture.Reader);
        status.ShouldBe(HttpStatusCode.Forbidden);
        Code(body).ShouldBe(7);
        Message(body).ShouldContain("needs the submit role");
        (await Send(Serve, HttpMethod.Put, "api/v1/workflows/a/any/terminate", "{}", "application/json", fixture.Reader)).Status.ShouldBe(HttpStatusCode.Forbidden);
        await ShouldHaveNoWorkflows("a");
    }

    [Fact]
    public async Task A_token_for_namespace_a_may_not_act_in_b()
    {
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/b", Shadow(), "application/json", fixture.SubmitterA);
        status.ShouldBe(HttpStatusCode.Forbidden);
        Message(body).ShouldBe("token 'submitter-a' (submit in a) may not act in namespace 'b'");
        // Nor by naming b in the body of a request to a, nor by listing every namespace.
        (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/a", Shadow("b"), "application/json", fixture.SubmitterA);
        status.ShouldBe(HttpStatusCode.BadRequest);
        Message(body).ShouldContain("differs from the namespace in the path 'a'");
        (await Send(Serve, HttpMethod.Get, "api/v1/workflows/-", null, null, fixture.SubmitterA)).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await Send(Serve, HttpMethod.Get, "api/v1/events", null, null, fixture.SubmitterA)).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await Send(Serve, HttpMethod.Get, "api/v1/events?namespace=a", null, null, fixture.SubmitterA)).Status.ShouldBe(HttpStatusCode.OK);
        await ShouldHaveNoWorkflows("a");
        await ShouldHaveNoWorkflows("b");
    }

    [Fact]
    public async Task A_submit_token_may_not_apply_and_a_namespace_admin_applies_only_its_own_namespace()
    {
        const string two = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: mine, namespace: a}
            data: {k: v}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: theirs, namespace: b}
            data: {k: v}
            """;
        (await Send(Serve, HttpMethod.Post, "api/v1/apply", two, "application/yaml", fixture.SubmitterA)).Status.ShouldBe(HttpStatusCode.Forbidden);
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/apply", two, "application/yaml", fixture.AdminA);
        status.ShouldBe(HttpStatusCode.Forbidden);
        Message(body).ShouldBe("token 'admin-a' (admin in a) may not apply ConfigMap/theirs in namespace 'b'; nothing was applied");
        const string cluster = """
            apiVersion: argoproj.io/v1alpha1
            kind: ClusterWorkflowTemplate
            metadata: {name: everywhere}
            spec: {templates: [{name: main, container: {image: busybox, command: [cat, /etc/shadow]}}]}
            """;
        (await Send(Serve, HttpMethod.Post, "api/v1/apply", cluster, "application/yaml", fixture.AdminA)).Status.ShouldBe(HttpStatusCode.Forbidden);
        // Nothing of either request was applied: the document in a waited for the one in b.
        var templates = await Send(Serve, HttpMethod.Get, "api/v1/cluster-workflow-templates", null, null, Serve.AdminToken);
        JsonNode.Parse(templates.Body)!["items"]!.AsArray().ShouldBeEmpty();
        (await Send(Serve, HttpMethod.Post, "api/v1/apply", two.Split("---")[0], "application/yaml", fixture.AdminA)).Status.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_text_plain_body_is_refused_with_415_even_with_a_valid_token()
    {
        foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x" })
        {
            var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), type, Serve.AdminToken);
            status.ShouldBe(HttpStatusCode.UnsupportedMediaType, type);
            Message(body).ShouldStartWith("Content-Type '");
        }
        (await Send(Serve, HttpMethod.Post, "api/v1/apply", "kind: ConfigMap", "text/plain", Serve.AdminToken)).Status.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        await ShouldHaveNoWorkflows("default");
    }

    [Fact]
    public async Task A_cross_site_Origin_is_refused_with_403_even_with_a_valid_token()
    {
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), "application/json", Serve.AdminToken,
            ("Origin", "http://evil.example"));
        status.ShouldBe(HttpStatusCode.Forbidden);
        Message(body).ShouldStartWith("Origin 'http://evil.example' is not this server");
        (await Send(Serve, HttpMethod.Get, "api/v1/workflows/default", null, null, Serve.AdminToken, ("Origin", "null"))).Status.ShouldBe(HttpStatusCode.Forbidden);
        // The API's own origin is fine.
        (await Send(Serve, HttpMethod.Get, "api/v1/workflows/default", null, null, Serve.AdminToken, ("Origin", $"http://127.0.0.1:{Serve.Port}"))).Status.ShouldBe(HttpStatusCode.OK);
        await ShouldHaveNoWorkflows("default");
    }

    [Fact]
    public async Task A_foreign_Host_on_loopback_is_refused_with_403()
    {
        // DNS rebinding: attacker.example resolves to 127.0.0.1, so the browser sends Host: attacker.example.
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/default", Shadow(), "text/plain", token: null,
            ("Host", "attacker.example"), ("Origin", "http://attacker.example"));
        status.ShouldBe(HttpStatusCode.Forbidden);
        Message(body).ShouldStartWith("Host 'attacker.example' is not this server's name");
        (await Send(Serve, HttpMethod.Get, "api/v1/workflows/default", null, null, Serve.AdminToken, ("Host", "attacker.example:80"))).Status.ShouldBe(HttpStatusCode.Forbidden);
        foreach (var host in new[] { "localhost", $"localhost:{Serve.Port}", "[::1]:1" })
            (await Send(Serve, HttpMethod.Get, "api/v1/workflows/default", null, null, Serve.AdminToken, ("Host", host))).Status.ShouldBe(HttpStatusCode.OK, host);
        await ShouldHaveNoWorkflows("default");
    }

    [Fact]
    public async Task The_same_requests_done_right_succeed()
    {
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/a", Shadow().Replace("cat", "echo"), "application/json", fixture.SubmitterA);
        status.ShouldBe(HttpStatusCode.OK, body);
        var list = await Send(Serve, HttpMethod.Get, "api/v1/workflows/a", null, null, fixture.Reader);
        JsonNode.Parse(list.Body)!["items"]!.AsArray().Count.ShouldBe(1);
        var name = JsonNode.Parse(body)!["metadata"]!["name"]!.GetValue<string>();
        await Eventually.Get(async () => JsonNode.Parse((await Send(Serve, HttpMethod.Get, $"api/v1/workflows/a/{name}", null, null, fixture.Reader)).Body)?
            ["status"]?["finishedAt"] is not null ? "done" : null, "the workflow to finish");
        (await Send(Serve, HttpMethod.Delete, $"api/v1/workflows/a/{name}", null, null, fixture.SubmitterA)).Status.ShouldBe(HttpStatusCode.Forbidden);
        (await Send(Serve, HttpMethod.Delete, $"api/v1/workflows/a/{name}", null, null, fixture.AdminA)).Status.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("apiVersion: v1\nkind: Secret\nmetadata: {name: minted, labels: {eventgateway.io/api-token: \"true\"}}\nstringData: {role: admin, sha256: TOKEN}", "on a Secret is refused")]
    public async Task A_submit_token_cannot_escalate_through_a_resource_template(string manifest, string reason)
    {
        var minted = TokenHash.NewToken();
        var wf = new JsonObject
        {
            ["workflow"] = new JsonObject
            {
                ["apiVersion"] = "argoproj.io/v1alpha1", ["kind"] = "Workflow", ["metadata"] = new JsonObject { ["generateName"] = "escalate-" },
                ["spec"] = new JsonObject
                {
                    ["entrypoint"] = "main",
                    ["templates"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "main",
                        ["resource"] = new JsonObject { ["action"] = "create", ["manifest"] = manifest.Replace("TOKEN", TokenHash.Hex(minted)) },
                    }),
                },
            },
        };
        var (status, body) = await Send(Serve, HttpMethod.Post, "api/v1/workflows/a", wf.ToJsonString(), "application/json", fixture.SubmitterA);
        status.ShouldBe(HttpStatusCode.OK, body);
        var name = JsonNode.Parse(body)!["metadata"]!["name"]!.GetValue<string>();
        try
        {
            var done = await Eventually.Get(async () =>
            {
                var w = JsonNode.Parse((await Send(Serve, HttpMethod.Get, $"api/v1/workflows/a/{name}", null, null, fixture.Reader)).Body);
                return w?["status"]?["phase"]?.GetValue<string>() is "Error" or "Failed" or "Succeeded" ? w : null;
            }, "the workflow to end");
            done["status"]!["phase"]!.GetValue<string>().ShouldBe("Error");
            done["status"]!["message"]!.GetValue<string>().ShouldContain(reason);
            (await Send(Serve, HttpMethod.Get, "api/v1/workflows/a", null, null, minted)).Status.ShouldBe(HttpStatusCode.Unauthorized);
            await ShouldHaveNoWorkflows("b");
        }
        finally
        {
            (await Send(Serve, HttpMethod.Delete, $"api/v1/workflows/a/{name}", null, null, Serve.AdminToken)).Status.ShouldBe(HttpStatusCode.OK);
        }
    }

    private async Task ShouldHaveNoWorkflows(string ns)
    {
        var (status, body) = await Send(Serve, HttpMethod.Get, $"api/v1/workflows/{ns}", null, null, Serve.AdminToken);
        status.ShouldBe(HttpStatusCode.OK);
        JsonNode.Parse(body)!["items"]!.AsArray().ShouldBeEmpty();
    }

    internal static async Task<(HttpStatusCode Status, string Body)> Send(ServeProcess serve, HttpMethod method, string path, string? body, string? contentType,
        string? token, params (string Name, string Value)[] headers)
    {
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = serve.BaseAddress };
        using var req = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            req.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null) req.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        if (token is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        foreach (var (name, value) in headers)
            if (name == "Host") req.Headers.Host = value;
            else req.Headers.TryAddWithoutValidation(name, value);
        using var resp = await http.SendAsync(req);
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    internal static int Code(string body) => JsonNode.Parse(body)!["code"]!.GetValue<int>();

    internal static string Message(string body) => JsonNode.Parse(body)!["message"]!.GetValue<string>();
}

using System.Net;
using System.Text;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Events.EventSources;
using EventGateway.Events.EventSources.Github;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>Hook registration against a fake GitHub API on loopback: create, find again, update, delete, and failures.</summary>
public sealed class GithubHookTests : IAsyncLifetime
{
    private const string HookUrl = "https://events.example.com/github";
    private readonly int _port = EventTestHost.FreePort();
    private FakeGithubApi _github = null!;
    private EventTestHost _host = null!;

    private string Manifest(string scopes = "repositories:\n        - owner: acme\n          names: [api, web]", string events = "[push]",
        string extra = "", string token = "gh-token", string secret = "hook-secret") => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: github-access, namespace: ci}
        stringData: {token: {{token}}, secret: {{secret}}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: gh, namespace: ci}
        spec:
          github:
            ci:
              {{scopes}}
              webhook:
                endpoint: /github
                port: "{{_port}}"
                method: POST
                url: https://events.example.com
              events: {{events}}
              apiToken: {name: github-access, key: token}
              webhookSecret: {name: github-access, key: secret}
              insecure: false
              active: true
              githubBaseURL: {{_github.BaseUrl}}
              githubUploadURL: {{_github.BaseUrl}}
              {{extra}}
        """;

    public async Task InitializeAsync()
    {
        _github = await FakeGithubApi.StartAsync();
        _host = await EventTestHost.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _github.DisposeAsync();
    }

    private ListenerStatus Status() => _host.Sources.StatusOf("ci", "gh")!.Value.Listeners.ShouldHaveSingleItem();

    [Fact]
    public async Task Hooks_are_created_on_first_start_and_found_again_after_a_restart()
    {
        await _host.ApplyAsync(Manifest());
        _github.Changes.ShouldBe(["POST repos/acme/api/hooks", "POST repos/acme/web/hooks"]);
        var create = _github.Requests.First(r => r.Method == "POST");
        create.Authorization.ShouldBe("Bearer gh-token");
        System.Text.Json.Nodes.JsonNode.DeepEquals(create.Body, System.Text.Json.Nodes.JsonNode.Parse(
            $$"""{"active":true,"events":["push"],"config":{"url":"{{HookUrl}}","content_type":"json","insecure_ssl":"0","secret":"hook-secret"},"name":"web"}""")).ShouldBeTrue(create.Body!.ToJsonString());
        foreach (var repo in new[] { "repos/acme/api", "repos/acme/web" })
        {
            var hook = _github.Hooks(repo).ShouldHaveSingleItem();
            (hook.Url, hook.Secret, hook.Active, string.Join(",", hook.Events)).ShouldBe((HookUrl, "hook-secret", true, "push"));
        }
        Status().State.ShouldBe(ListenerState.Listening);

        // A new process on the same data: the hooks are found, nothing is created or rewritten.
        var dataDir = _host.KeepDataDir();
        await _host.DisposeAsync();
        _github.Hooks("repos/acme/api").Count.ShouldBe(1, "without deleteHookOnFinish the hooks stay");
        _github.ClearRequests();
        _host = await EventTestHost.StartAsync(dataDir: dataDir, deleteDataDir: true);
        await _host.WaitListeningAsync("ci", "gh");
        _github.Requests.Select(r => $"{r.Method} {r.Path}").ShouldBe(["GET repos/acme/api/hooks", "GET repos/acme/web/hooks"]);
        _github.Hooks("repos/acme/api").Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_changed_event_list_updates_the_existing_hook_instead_of_adding_one()
    {
        await _host.ApplyAsync(Manifest(scopes: "repositories: [{owner: acme, names: [api]}]"));
        var id = _github.Hooks("repos/acme/api").ShouldHaveSingleItem().Id;
        _github.ClearRequests();

        await _host.Store.ApplyAllAsync(ManifestReader.Read(Manifest(scopes: "repositories: [{owner: acme, names: [api]}]", events: "[push, pull_request]")));
        await Eventually.Get(() => Task.FromResult(_github.Changes.Count > 0 ? "" : null), "the hook update");
        _github.Changes.ShouldBe([$"PATCH repos/acme/api/hooks/{id}"]);
        var hook = _github.Hooks("repos/acme/api").ShouldHaveSingleItem();
        hook.Id.ShouldBe(id);
        hook.Events.ShouldBe(["push", "pull_request"]);
        hook.Secret.ShouldBe("hook-secret");
    }

    [Fact]
    public async Task A_rotated_webhook_secret_is_pushed_to_the_hook_and_verified_without_a_restart()
    {
        await _host.ApplyAsync(Manifest(scopes: "repositories: [{owner: acme, names: [api]}]"));
        var hook = _github.Hooks("repos/acme/api").ShouldHaveSingleItem();
        _github.ClearRequests();

        await _host.ApplyAsync(Manifest(scopes: "repositories: [{owner: acme, names: [api]}]", secret: "rotated").Split("---")[0]);
        await Eventually.Get(() => Task.FromResult(_github.Hooks("repos/acme/api")[0].Secret == "rotated" ? "" : null), "the new secret on the hook");
        _github.Changes.ShouldBe([$"PATCH repos/acme/api/hooks/{hook.Id}"]);
        Status().Restarts.ShouldBe(0);

        using var http = new HttpClient();
        var body = Encoding.UTF8.GetBytes("""{"zen":"Design for failure."}""");
        using var req = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_port}/github") { Content = new ByteArrayContent(body) };
        req.Headers.Add("X-Hub-Signature-256", GithubSignature.Sign("rotated", body));
        req.Headers.Add("X-GitHub-Event", "ping");
        (await http.SendAsync(req)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Organization_hooks_are_registered_and_deleted_on_finish_when_asked()
    {
        await _host.ApplyAsync(Manifest(scopes: "organizations: [acme, globex]", events: "[\"*\"]", extra: "deleteHookOnFinish: true"));
        _github.Changes.ShouldBe(["POST orgs/acme/hooks", "POST orgs/globex/hooks"]);
        var acme = _github.Hooks("orgs/acme").ShouldHaveSingleItem();
        acme.Events.ShouldBe(["*"]);
        var globex = _github.Hooks("orgs/globex").ShouldHaveSingleItem();
        _github.ClearRequests();

        await _host.Store.DeleteAsync<EventSource>("ci", "gh");
        await Eventually.Get(() => Task.FromResult(_github.Hooks("orgs/acme").Count + _github.Hooks("orgs/globex").Count == 0 ? "" : null), "hooks deleted");
        _github.Changes.ShouldBe([$"DELETE orgs/acme/hooks/{acme.Id}", $"DELETE orgs/globex/hooks/{globex.Id}"]);
    }

    [Fact]
    public async Task An_existing_hook_is_found_beyond_the_first_page()
    {
        for (var i = 0; i < 150; i++) _github.Seed("repos/acme/api", $"https://other.example.com/hook/{i}", "push");
        var mine = _github.Seed("repos/acme/api", HookUrl, "push");
        await _host.ApplyAsync(Manifest(scopes: "repositories: [{owner: acme, names: [api]}]"));

        _github.Requests.Where(r => r.Method == "GET").Select(r => r.Query).ShouldBe(["?per_page=100", "?per_page=100&page=2"]);
        // Found on page two, with no secret set by this gateway: updated in place, not duplicated.
        _github.Changes.ShouldBe([$"PATCH repos/acme/api/hooks/{mine.Id}"]);
        _github.Hooks("repos/acme/api").Count.ShouldBe(151);
        _github.Hooks("repos/acme/api").Single(h => h.Id == mine.Id).Secret.ShouldBe("hook-secret");
    }

    [Fact]
    public async Task A_registration_failure_is_reported_while_the_endpoint_keeps_serving_and_a_fixed_token_recovers()
    {
        _github.Missing.Add("repos/acme/gone");
        await _host.Store.ApplyAllAsync(ManifestReader.Read(Manifest(scopes: "repositories: [{owner: acme, names: [gone, api]}]", token: "expired")));
        await _host.WaitListeningAsync("ci", "gh", allowFailed: true);
        var status = Status();
        status.State.ShouldBe(ListenerState.Failed);
        status.Message.ShouldBe($"GitHub hook registration failed (endpoint http://:{_port}/github still serving): " +
            "listing hooks of repository acme/gone: GitHub answered 401 Bad credentials; listing hooks of repository acme/api: GitHub answered 401 Bad credentials");

        // Deliveries from hooks that already exist still arrive.
        using var http = new HttpClient();
        var body = Encoding.UTF8.GetBytes("{}");
        using var req = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_port}/github") { Content = new ByteArrayContent(body) };
        req.Headers.Add("X-Hub-Signature-256", GithubSignature.Sign("hook-secret", body));
        (await http.SendAsync(req)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // A corrected token Secret triggers registration again at once, no restart and no waiting for backoff.
        await _host.ApplyAsync(Manifest(token: "gh-token").Split("---")[0]);
        await Eventually.Get(() => Task.FromResult(Status().Message is { } m && !m.Contains("401", StringComparison.Ordinal) ? m : null), "only the missing repository failing");
        Status().Message.ShouldBe($"GitHub hook registration failed (endpoint http://:{_port}/github still serving): listing hooks of repository acme/gone: GitHub answered 404 repos/acme/gone/hooks was not found.");
        _github.Hooks("repos/acme/api").ShouldHaveSingleItem().Url.ShouldBe(HookUrl);
        _github.Hooks("repos/acme/gone").ShouldBeEmpty();
    }

    private string AppManifest(string pem) => Manifest(scopes: "repositories: [{owner: acme, names: [api]}]")
        .Replace("stringData: {token: gh-token, secret: hook-secret}", "stringData:\n  secret: hook-secret\n  pem: |\n" + string.Join("\n", pem.Trim().Split('\n').Select(l => "    " + l)), StringComparison.Ordinal)
        .Replace("apiToken: {name: github-access, key: token}", "githubApp: {appID: 4242, installationID: 7, privateKey: {name: github-access, key: pem}}", StringComparison.Ordinal);

    [Fact]
    public async Task A_github_app_registers_hooks_with_an_installation_token_it_gets_for_a_signed_jwt()
    {
        var pem = _github.InstallApp(appId: 4242, installationId: 7);

        await _host.ApplyAsync(AppManifest(pem));

        _github.Changes.ShouldBe(["POST app/installations/7/access_tokens", "POST repos/acme/api/hooks"]);
        var token = _github.InstallationTokens.ShouldHaveSingleItem();
        _github.Requests.Single(r => r.Path == "repos/acme/api/hooks" && r.Method == "POST").Authorization.ShouldBe($"Bearer {token}");
        _github.Hooks("repos/acme/api").ShouldHaveSingleItem().Url.ShouldBe(HookUrl);
    }

    [Fact]
    public async Task A_github_app_key_github_does_not_know_is_reported_with_githubs_answer()
    {
        _github.InstallApp(appId: 4242, installationId: 7);
        using var other = System.Security.Cryptography.RSA.Create(2048);

        await _host.Store.ApplyAllAsync(ManifestReader.Read(AppManifest(other.ExportRSAPrivateKeyPem())));
        await _host.WaitListeningAsync("ci", "gh", allowFailed: true);

        Status().State.ShouldBe(ListenerState.Failed);
        Status().Message.ShouldBe($"GitHub hook registration failed (endpoint http://:{_port}/github still serving): " +
            "getting an access token for GitHub App installation 7: GitHub answered 401 A JSON web token could not be decoded");
        _github.Hooks("repos/acme/api").ShouldBeEmpty();
    }

    [Fact]
    public async Task A_github_app_key_that_is_not_pem_is_a_clear_error()
    {
        _github.InstallApp(appId: 4242, installationId: 7);

        await _host.Store.ApplyAllAsync(ManifestReader.Read(AppManifest("not a key")));
        await _host.WaitListeningAsync("ci", "gh", allowFailed: true);

        Status().Message.ShouldNotBeNull().ShouldContain("githubApp.privateKey is not an RSA private key in PEM form");
        _github.Requests.ShouldBeEmpty();
    }

    /// <summary>A replica's view of one lease, switched by the test: held or not, and told to the claim as it changes.</summary>
    private sealed class SwitchedOwnership : EventGateway.Workflows.Replicas.IOwnership
    {
        private readonly List<SwitchedClaim> _claims = [];
        private bool _held;

        public string ReplicaId => "test-replica";
        public bool Shared => true;
        public string? Unavailable => null;

        public EventGateway.Workflows.Replicas.ILeaseClaim Claim(string name, Action changed, Func<bool>? idle = null)
        {
            var claim = new SwitchedClaim(name, changed);
            lock (_claims)
            {
                _claims.Add(claim);
                if (_held) claim.Gain();
            }
            return claim;
        }

        public void Set(bool held)
        {
            lock (_claims)
            {
                _held = held;
                foreach (var c in _claims) if (held) c.Gain(); else c.Lose();
            }
        }

        public sealed class SwitchedClaim(string name, Action changed) : EventGateway.Workflows.Replicas.ILeaseClaim
        {
            private CancellationTokenSource? _hold;
            public string Name => name;
            public bool Held => _hold is { IsCancellationRequested: false };
            public long Epoch { get; private set; }
            public CancellationToken Lost => _hold?.Token ?? new CancellationToken(canceled: true);
            public void Gain() { Epoch++; _hold = new CancellationTokenSource(); changed(); }
            public void Lose() { _hold?.Cancel(); changed(); }
            public void Dispose() => _hold?.Cancel();
        }
    }

    [Fact]
    public async Task Among_replicas_only_the_holder_of_the_hooks_lease_registers_and_losing_it_deletes_nothing()
    {
        var ownership = new SwitchedOwnership();
        await using var replica = await EventTestHost.StartAsync(services2: s => s.AddSingleton<EventGateway.Workflows.Replicas.IOwnership>(ownership));

        // Without the lease the endpoint serves deliveries, but GitHub is not asked anything.
        await replica.ApplyAsync(Manifest(scopes: "organizations: [acme]", extra: "deleteHookOnFinish: true").Replace($"port: \"{_port}\"", $"port: \"{EventTestHost.FreePort()}\"", StringComparison.Ordinal));
        _github.Requests.ShouldBeEmpty();

        ownership.Set(held: true);
        await Eventually.Get(() => Task.FromResult(_github.Hooks("orgs/acme").Count == 1 ? "" : null), "the holder to create the hook");

        ownership.Set(held: false);
        _github.ClearRequests();
        await replica.Store.DeleteAsync<EventSource>("ci", "gh"); // the listener ends on a replica that no longer keeps the hooks
        await Eventually.Get(() => Task.FromResult(replica.Sources.StatusOf("ci", "gh") is null ? "" : null), "the listener to stop");
        _github.Changes.ShouldBeEmpty();
        _github.Hooks("orgs/acme").ShouldHaveSingleItem();
    }
}

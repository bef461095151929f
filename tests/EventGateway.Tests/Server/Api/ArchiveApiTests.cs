using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Server.Api;

/// <summary>
/// The archived-workflows API and what logs say once they are gone, on the whole service in process (Kestrel on
/// 127.0.0.1, real processes, SQLite files) with a fake clock, over HTTP and through `egw`.
/// </summary>
public sealed class ArchiveApiTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Workflow(string name, string spec = "", string team = "a") => """
        {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "NAME", "labels": {"team": "TEAM"}},
          "spec": {SPEC "entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox", "command": ["echo", "hello from NAME"]}}]}}}
        """.Replace("NAME", name).Replace("TEAM", team).Replace("SPEC", spec);

    [Fact]
    public async Task A_workflow_removed_by_its_ttl_stays_queryable_in_the_archive_and_its_logs_say_they_are_gone()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var host = await ServiceHost.StartAsync(time);
        var done = await host.RunAsync("short-lived", Workflow("short-lived", "\"ttlStrategy\": {\"secondsAfterCompletion\": 60},"));
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var uid = done.Metadata.Uid!;
        await Eventually.Get(async () => (await host.Http.GetAsync($"api/v1/archived-workflows/{uid}")).IsSuccessStatusCode ? "" : null, "the workflow archived on completion");

        time.Advance(TimeSpan.FromSeconds(60));
        await Eventually.Get(async () => (await host.Http.GetAsync("api/v1/workflows/default/short-lived")).StatusCode == HttpStatusCode.NotFound ? "" : null, "the TTL to delete it");

        var archived = (await host.Http.GetFromJsonAsync<Workflow>($"api/v1/archived-workflows/{uid}", Json.Lenient))!;
        archived.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        archived.Status.Nodes!.Values.Single().Outputs!.Result.ShouldBe("hello from short-lived");
        var listed = (await host.Http.GetFromJsonAsync<JsonObject>("api/v1/archived-workflows?namespace=default&listOptions.labelSelector=team%3Da"))!["items"]!.AsArray();
        listed.Select(i => i!["metadata"]!["uid"]!.GetValue<string>()).ShouldBe([uid]);
        listed[0]!["status"]!["nodes"].ShouldBeNull("a listing carries summaries");
        (await host.Http.GetFromJsonAsync<JsonObject>("api/v1/archived-workflows?listOptions.labelSelector=team%3Db"))!["items"]!.AsArray().ShouldBeEmpty();

        var logs = await host.Http.GetAsync("api/v1/workflows/default/short-lived/log");
        logs.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var message = JsonNode.Parse(await logs.Content.ReadAsStringAsync())!["message"]!.GetValue<string>();
        message.ShouldContain($"the archive keeps it (uid {uid}), but logs are not archived");

        var (code, stdout, stderr) = await CliTests.Egw("archive", "list", "-s", host.Server, "--data-dir", host.DataDir);
        code.ShouldBe(0, stderr);
        stdout.ShouldMatch($@"short-lived\s+default\s+Succeeded\s+.*{uid}");
        (code, stdout, stderr) = await CliTests.Egw("archive", "get", uid, "-o", "json", "-s", host.Server, "--data-dir", host.DataDir);
        code.ShouldBe(0, stderr);
        JsonSerializer.Deserialize<Workflow>(stdout, Json.Lenient)!.Metadata.Uid.ShouldBe(uid);
        (code, _, stderr) = await CliTests.Egw("logs", "short-lived", "-s", host.Server, "--data-dir", host.DataDir);
        code.ShouldBe(1);
        stderr.ShouldContain("logs are not archived");

        (code, stdout, stderr) = await CliTests.Egw("archive", "delete", uid, "-s", host.Server, "--data-dir", host.DataDir);
        code.ShouldBe(0, stderr);
        (await host.Http.GetAsync($"api/v1/archived-workflows/{uid}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await CliTests.Egw("archive", "get", uid, "-s", host.Server, "--data-dir", host.DataDir)).Err.ShouldContain($"archived workflow \"{uid}\" not found");
    }

    [Fact]
    public async Task Logs_of_pods_removed_by_podGC_say_so_over_rest_and_cli()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var host = await ServiceHost.StartAsync(time);
        var done = await host.RunAsync("collected", Workflow("collected", "\"podGC\": {\"strategy\": \"OnPodCompletion\", \"deleteDelayDuration\": \"10s\"},"));
        var pod = done.Status!.Nodes!.Values.Single();
        (await host.Http.GetStringAsync("api/v1/workflows/default/collected/log")).ShouldContain("hello from collected", Case.Sensitive, "the logs are there until podGC");

        time.Advance(TimeSpan.FromSeconds(10));
        var dir = Path.Combine(host.DataDir, "pods", "default", "collected", pod.Id);
        await Eventually.Get(() => Task.FromResult(Directory.Exists(dir) ? null : ""), "podGC to remove the pod");
        var line = JsonNode.Parse((await host.Http.GetStringAsync("api/v1/workflows/default/collected/log")).Trim())!["result"]!;
        line["podName"]!.GetValue<string>().ShouldBe(pod.Id);
        line["content"]!.GetValue<string>().ShouldBe($"logs removed by podGC (strategy OnPodCompletion) at {pod.FinishedAt!.Value.AddSeconds(10).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
        Directory.Exists(dir).ShouldBeFalse("reading logs does not bring the pod's directory back");

        var (code, stdout, stderr) = await CliTests.Egw("logs", "collected", "-s", host.Server, "--data-dir", host.DataDir);
        code.ShouldBe(0, stderr);
        stdout.ShouldContain("collected: logs removed by podGC (strategy OnPodCompletion)");
    }

    [Fact]
    public async Task Archive_listing_pages_filters_and_refuses_bad_queries()
    {
        await using var host = await ServiceHost.StartAsync(new FakeTimeProvider(Epoch));
        foreach (var (name, team) in new[] { ("one", "a"), ("two", "b"), ("three", "a") })
            await host.RunAsync(name, Workflow(name, team: team));
        var all = await Eventually.Get(async () => (await host.Http.GetFromJsonAsync<JsonObject>("api/v1/archived-workflows"))!["items"]!.AsArray() is { Count: 3 } a ? a : null, "three archived");
        all.Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ShouldBe(["three", "two", "one"], "newest archived first");

        var first = (await host.Http.GetFromJsonAsync<JsonObject>("api/v1/archived-workflows?listOptions.limit=2"))!;
        first["items"]!.AsArray().Count.ShouldBe(2);
        var next = first["metadata"]!["continue"]!.GetValue<string>();
        var second = (await host.Http.GetFromJsonAsync<JsonObject>($"api/v1/archived-workflows?listOptions.limit=2&listOptions.continue={next}"))!;
        second["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ShouldBe(["one"]);
        second["metadata"]!["continue"].ShouldBeNull();

        (await host.Http.GetFromJsonAsync<JsonObject>("api/v1/archived-workflows?listOptions.labelSelector=team%20in%20(a)&namePrefix=on"))!["items"]!.AsArray()
            .Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ShouldBe(["one"]);
        (await host.Http.GetFromJsonAsync<JsonObject>("api/v1/archived-workflows?listOptions.fieldSelector=metadata.namespace%3Dother"))!["items"]!.AsArray().ShouldBeEmpty();

        foreach (var (query, reason) in new[]
        {
            ("listOptions.limit=many", "listOptions.limit: 'many' is not a non-negative whole number"),
            ("listOptions.labelSelector=team%3D%3Da,%3Dx", "listOptions.labelSelector: label selector term '=x'"),
            ("listOptions.continue=abc", "listOptions.continue: continue token 'abc' is not one this server gave"),
            ("listOptions.fieldSelector=status.phase%3DFailed", "listOptions.fieldSelector: 'status.phase=Failed' is not supported"),
        })
        {
            var resp = await host.Http.GetAsync($"api/v1/archived-workflows?{query}");
            resp.StatusCode.ShouldBe(HttpStatusCode.BadRequest, query);
            (await resp.Content.ReadAsStringAsync()).ShouldContain(reason, Case.Sensitive, query);
        }
    }

    [Fact]
    public async Task With_the_archive_off_the_archive_api_says_so()
    {
        await using var host = await ServiceHost.StartAsync(new FakeTimeProvider(Epoch), o => o.Retention.Archive = false);
        var resp = await host.Http.GetAsync("api/v1/archived-workflows");
        resp.StatusCode.ShouldBe(HttpStatusCode.NotImplemented);
        (await resp.Content.ReadAsStringAsync()).ShouldContain("--no-archive");
        File.Exists(Path.Combine(host.DataDir, "archive.db")).ShouldBeFalse();
    }

    [Theory]
    [InlineData("--pod-gc", "OnSunday", "pod GC strategy 'OnSunday' is not one of OnPodCompletion, OnPodSuccess, OnWorkflowCompletion, OnWorkflowSuccess")]
    [InlineData("--workflow-ttl", "soon", "--workflow-ttl 'soon' is not a duration")]
    [InlineData("--archive-ttl", "0s", "archive TTL must be positive")]
    public async Task Serve_refuses_bad_retention_flags_before_starting(string flag, string value, string message)
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-flags-").FullName;
        try
        {
            var (code, _, stderr) = await CliTests.Egw("serve", "--port", "0", "--data-dir", dataDir, flag, value);
            code.ShouldBe(2);
            stderr.ShouldContain(message);
        }
        finally { Directory.Delete(dataDir, recursive: true); }
    }

    /// <summary>The service as `egw serve` builds it, in process on a free loopback port, on the given clock.</summary>
    private sealed class ServiceHost : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private ServiceHost(WebApplication app, string dataDir)
        {
            _app = app;
            DataDir = dataDir;
            Server = app.Urls.First().TrimEnd('/');
            Http = new HttpClient { BaseAddress = new Uri(Server + "/"), Timeout = TimeSpan.FromSeconds(60) };
            Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", EventGateway.Server.Security.AdminTokenFile.LoadOrCreate(dataDir).Token);
        }

        public HttpClient Http { get; }
        public string Server { get; }
        public string DataDir { get; }

        public static async Task<ServiceHost> StartAsync(TimeProvider time, Action<EventGatewayOptions>? configure = null)
        {
            var dataDir = Directory.CreateTempSubdirectory("egw-archive-").FullName;
            // Saves are throttled on the (frozen) clock; phase changes, and so completion, are saved at once.
            var options = new EventGatewayOptions { DataDir = dataDir, EventListenAddress = "127.0.0.1" };
            configure?.Invoke(options);
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log")));
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Services.AddEventGateway(options);
            builder.Services.AddSingleton(time);
            var app = builder.Build();
            app.MapEventGatewayApi();
            await app.StartAsync();
            return new ServiceHost(app, dataDir);
        }

        /// <summary>Submits over REST and waits for the stored workflow to complete.</summary>
        public async Task<Workflow> RunAsync(string name, string body)
        {
            var resp = await Http.PostAsync("api/v1/workflows/default", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            resp.StatusCode.ShouldBe(HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
            return await Eventually.Get(async () => await Http.GetFromJsonAsync<Workflow>($"api/v1/workflows/default/{name}", Json.Lenient) is { Status.IsCompleted: true } w ? w : null, $"{name} to complete");
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            try { Directory.Delete(DataDir, recursive: true); }
            catch (IOException) { }
        }
    }
}

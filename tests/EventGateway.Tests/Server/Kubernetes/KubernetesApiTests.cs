using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shouldly;
using EventGateway.Model.Manifests;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// The whole service in Kubernetes mode (as `egw serve --kubernetes --kubeconfig` builds it, Kestrel on loopback) over
/// the test API server: the REST API shows the cluster's objects and refuses to change the kinds the cluster owns;
/// the CLI refuses flag mistakes; the CRDs in crds/ declare what the mirror and the status writer rely on.
/// </summary>
public sealed class KubernetesApiTests : IAsyncLifetime
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("egw-kube-api-").FullName;
    private TestApiServer _api = null!;
    private WebApplication? _app;
    private HttpClient? _http;

    private readonly ParkingFakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public async Task InitializeAsync()
    {
        _api = await TestApiServer.StartAsync();
        _api.Create("sensors", "ci", (JsonObject)JsonNode.Parse(YamlToJson.Convert("""
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: builds, namespace: ci}
            spec:
              dependencies: [{name: push, eventSourceName: hooks, eventName: push}]
              triggers: [{template: {name: log, log: {}}}]
            """).Single().Json)!);
    }

    private async Task StartServiceAsync()
    {
        var kubeconfig = _api.WriteKubeconfig(Path.Combine(_dataDir, "kubeconfig"));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log")));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddEventGateway(new EventGatewayOptions
        {
            DataDir = _dataDir, EventListenAddress = "127.0.0.1", Kubernetes = new KubernetesOptions { Kubeconfig = kubeconfig },
        });
        builder.Services.AddSingleton<TimeProvider>(_time); // the mirror's backoff waits on this clock
        _app = builder.Build();
        _app.MapEventGatewayApi();
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First().TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            EventGateway.Server.Security.AdminTokenFile.LoadOrCreate(_dataDir).Token);
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        await _api.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { }
    }

    private static async Task<(HttpStatusCode, string)> Send(Task<HttpResponseMessage> call)
    {
        using var resp = await call;
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_API_shows_cluster_objects_and_refuses_to_change_cluster_owned_kinds_saying_to_use_kubectl()
    {
        await StartServiceAsync();
        var listed = await Eventually.Get(async () =>
        {
            var (code, body) = await Send(_http!.GetAsync("api/v1/sensors/ci"));
            return code == HttpStatusCode.OK && body.Contains("\"builds\"", StringComparison.Ordinal) ? body : null;
        }, "the cluster's sensor through the API");
        listed.ShouldContain(Annotations());

        var sensor = """{"sensor":{"apiVersion":"argoproj.io/v1alpha1","kind":"Sensor","metadata":{"name":"other"},"spec":{}}}""";
        var (post, postBody) = await Send(_http!.PostAsync("api/v1/sensors/ci", new StringContent(sensor, Encoding.UTF8, "application/json")));
        post.ShouldBe(HttpStatusCode.MethodNotAllowed);
        postBody.ShouldContain("sensors.argoproj.io are read from the Kubernetes cluster");
        postBody.ShouldContain("kubectl");
        (await Send(_http!.DeleteAsync("api/v1/sensors/ci/builds"))).Item1.ShouldBe(HttpStatusCode.MethodNotAllowed);
        (await Send(_http!.DeleteAsync("api/v1/workflow-templates/ci/build"))).Item1.ShouldBe(HttpStatusCode.MethodNotAllowed);
        (await Send(_http!.DeleteAsync("api/v1/cluster-workflow-templates/org"))).Item1.ShouldBe(HttpStatusCode.MethodNotAllowed);
        (await Send(_http!.PutAsync("api/v1/cron-workflows/ci/nightly/suspend", null))).Item1.ShouldBe(HttpStatusCode.MethodNotAllowed);
        (await Send(_http!.DeleteAsync("api/v1/event-sources/ci/hooks"))).Item1.ShouldBe(HttpStatusCode.MethodNotAllowed);

        var (apply, applyBody) = await Send(_http!.PostAsync("api/v1/apply", new StringContent("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings, namespace: ci}
            data: {a: "1"}
            """, Encoding.UTF8, "application/yaml")));
        apply.ShouldBe(HttpStatusCode.Conflict);
        applyBody.ShouldContain("ConfigMap/settings");
        applyBody.ShouldContain("kubectl");
        // The refused calls changed nothing in the service: the sensor is still the cluster's.
        (await Send(_http!.GetAsync("api/v1/sensors/ci/builds"))).Item1.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Readyz_waits_until_every_kind_was_listed_and_names_the_API_servers_error_meanwhile()
    {
        _api.FailNext(100_000, 503);
        await StartServiceAsync();
        var notReady = await Eventually.Get(async () =>
        {
            var (code, body) = await Send(_http!.GetAsync("readyz"));
            return code == HttpStatusCode.ServiceUnavailable && body.Contains("503", StringComparison.Ordinal) ? body : null;
        }, "readyz naming the 503");
        notReady.ShouldContain("kubernetes: not yet listed from the API server");
        notReady.ShouldContain("Sensor (503 the server is currently unable to handle the request)");

        _api.StopFailing();
        await Eventually.Get(async () => (await Send(_http!.GetAsync("readyz"))).Item1 == HttpStatusCode.OK ? "" : null, "ready once listed",
            TimeSpan.FromSeconds(60), eachPoll: () => _time.Advance(TimeSpan.FromSeconds(1)));
    }

    private static string Annotations() => EventGateway.Model.Annotations.KubernetesObject;

    [Fact]
    public async Task Egw_serve_with_kubernetes_and_kubeconfig_flags_reads_the_cluster_and_writes_status_back()
    {
        var kubeconfig = _api.WriteKubeconfig(Path.Combine(_dataDir, "kubeconfig"));
        await using var serve = await ServeProcess.StartAsync(Path.Combine(_dataDir, "serve"), null, "--kubernetes", "--kubeconfig", kubeconfig, "--no-sandbox");
        using var http = serve.CreateClient();
        await Eventually.Get(async () => (await Send(http.GetAsync("readyz"))).Item1 == HttpStatusCode.OK ? "" : null, "egw serve ready (every kind listed)");
        (await Send(http.GetAsync("api/v1/sensors/ci/builds"))).Item1.ShouldBe(HttpStatusCode.OK);
        // The sensor's status, written by the process through the kubeconfig's server.
        await Eventually.Get(() => Task.FromResult(_api.Get("sensors", "ci", "builds")?["status"]?["conditions"] is JsonArray { Count: 3 } c ? c : null), "the sensor's conditions");
    }

    [Theory]
    [InlineData(new[] { "--kubeconfig", "/nonexistent" }, "--kubeconfig needs --kubernetes")]
    [InlineData(new[] { "--kubernetes", "--kubeconfig", "/nonexistent/config" }, "--kubeconfig /nonexistent/config does not exist")]
    [InlineData(new[] { "--kubernetes" }, "not running in a pod")]
    public async Task Serve_refuses_kubernetes_flag_mistakes_before_starting(string[] flags, string message)
    {
        if (flags.Length == 1 && Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is not null) return; // in a pod the in-cluster config is valid
        var (code, _, stderr) = await CliTests.Egw(["serve", "--port", "0", "--data-dir", Path.Combine(_dataDir, "cli"), .. flags]);
        code.ShouldBe(2);
        stderr.ShouldContain(message);
    }

    [Fact]
    public void The_CRDs_declare_the_kinds_the_mirror_reads_with_their_scope_and_status_subresource()
    {
        var root = AppContext.BaseDirectory;
        while (!Directory.Exists(Path.Combine(root, "crds"))) root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException("crds/ not found above the test binary");
        foreach (var kind in ClusterKind.Mirrored.Where(k => k.Group == "argoproj.io"))
        {
            var file = Path.Combine(root, "crds", $"argoproj.io_{kind.Plural}.yaml");
            File.Exists(file).ShouldBeTrue($"crds/ has no CRD for {kind}");
            var crd = (JsonObject)JsonNode.Parse(YamlToJson.Convert(File.ReadAllText(file)).Single().Json)!;
            crd["metadata"]!["name"]!.GetValue<string>().ShouldBe(kind.ToString());
            crd["spec"]!["names"]!["kind"]!.GetValue<string>().ShouldBe(kind.Kind);
            crd["spec"]!["scope"]!.GetValue<string>().ShouldBe(kind.Namespaced ? "Namespaced" : "Cluster");
            var version = crd["spec"]!["versions"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == kind.Version)!;
            if (kind.Kind is "EventSource" or "Sensor")
                version["subresources"]?["status"].ShouldNotBeNull($"{kind}: the status writer patches the status subresource");
        }
    }
}

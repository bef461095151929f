using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;
using EventGateway.Workflows.Submission;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// Resource templates in Kubernetes mode against the test API server through the real KubernetesClient: the action
/// reaches the cluster, successCondition/failureCondition are decided by status changes the test writes (seen on the
/// object's watch, which resumes after a cut), the other actions and outputs, and a node whose egw restarts finds its
/// object again instead of creating a second one.
/// </summary>
public sealed class ClusterResourceTemplateTests : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private readonly string _dataDir = Directory.CreateTempSubdirectory("egw-kube-rt-").FullName;
    private TestApiServer _api = null!;
    private string _kubeconfig = null!;
    private EventTestHost? _host;

    public async Task InitializeAsync()
    {
        _api = await TestApiServer.StartAsync();
        _kubeconfig = _api.WriteKubeconfig(Path.Combine(Directory.CreateTempSubdirectory("egw-kube-").FullName, "config"));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        await _api.DisposeAsync();
        _http.Dispose();
    }

    private async Task<EventTestHost> StartAsync() =>
        _host = await EventTestHost.StartAsync(dataDir: _dataDir, pipeline: true, configure: o => o.Kubernetes = new KubernetesOptions { Kubeconfig = _kubeconfig });

    /// <summary>Read as Kubernetes mode reads manifests (any kind in resource templates) and submitted as the API does.</summary>
    private async Task<Workflow> SubmitAsync(string yaml) =>
        await _host!.Get<WorkflowSubmitter>().SubmitAsync((Workflow)ManifestReader.ClusterParser.Read(yaml, "test.yaml").Single(), null, "test");

    private const string JobWorkflow = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: migrate, namespace: ci}
        spec:
          entrypoint: run
          templates:
            - name: run
              resource:
                action: create
                successCondition: status.succeeded > 0
                failureCondition: status.failed > 0
                manifest: |
                  apiVersion: batch/v1
                  kind: Job
                  metadata: {generateName: migrate-}
                  spec:
                    template:
                      spec:
                        restartPolicy: Never
                        containers: [{name: m, image: busybox}]
              outputs:
                parameters:
                  - name: job
                    valueFrom: {jsonPath: '{.metadata.name}'}
        """;

    private async Task WriteStatusAsync(string name, string status)
    {
        using var body = new StringContent(status, Encoding.UTF8);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var resp = await _http.PatchAsync($"{_api.Url}/apis/batch/v1/namespaces/ci/jobs/{name}/status", body);
        resp.EnsureSuccessStatusCode();
    }

    private async Task<Workflow> CompletedAsync(string name) =>
        await Eventually.Get(async () => await _host!.Store.GetAsync<Workflow>("ci", name) is { Status.IsCompleted: true } wf ? wf : null, $"workflow {name} completed", TimeSpan.FromSeconds(60));

    /// <summary>The name the node gave its Job: the only Job in the namespace.</summary>
    private string JobNameFromRequests()
    {
        using var resp = _http.GetAsync($"{_api.Url}/apis/batch/v1/namespaces/ci/jobs").GetAwaiter().GetResult();
        var items = JsonNode.Parse(resp.Content.ReadAsStringAsync().GetAwaiter().GetResult())!["items"]!.AsArray();
        return items.Count == 1 ? items[0]!["metadata"]!["name"]!.GetValue<string>() : throw new ShouldAssertException($"{items.Count} Jobs in ci");
    }

    private Task<string> JobWatchedAsync() =>
        Eventually.Get(() => Task.FromResult(_api.OpenWatches("jobs") == 1 ? JobNameFromRequests() : null), "the Job created and its watch open");

    [Fact]
    public async Task A_create_waits_on_the_watch_until_a_status_the_test_writes_meets_the_success_condition()
    {
        await StartAsync();
        await SubmitAsync(JobWorkflow);
        var job = await JobWatchedAsync();
        job.ShouldStartWith("migrate-");
        (await _host!.Store.GetAsync<Workflow>("ci", "migrate"))!.Status!.IsCompleted.ShouldBeFalse();

        _api.DropWatches(); // cut mid-wait: the watch resumes from the Job's resourceVersion
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("jobs") == 1 ? "" : null), "the watch resumed");
        await WriteStatusAsync(job, """{"status":{"active":1}}"""); // not yet
        await WriteStatusAsync(job, """{"status":{"active":0,"succeeded":1}}""");

        var wf = await CompletedAsync("migrate");
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var node = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Outputs!.Parameters!.Single().Value.ShouldBe(job);
        var watches = _api.Requests.Where(r => r.Path == "/apis/batch/v1/namespaces/ci/jobs" && r.Query.Contains("watch=true", StringComparison.Ordinal)).ToList();
        watches.Count.ShouldBe(2);
        watches.ShouldAllBe(w => w.Query.Contains($"fieldSelector=metadata.name%3D{job}", StringComparison.Ordinal));
        // No polling: the object was read once, when the first watch started.
        _api.Requests.Count(r => r.Method == "GET" && r.Path == $"/apis/batch/v1/namespaces/ci/jobs/{job}").ShouldBe(1);
    }

    [Fact]
    public async Task A_status_meeting_the_failure_condition_fails_the_node()
    {
        await StartAsync();
        await SubmitAsync(JobWorkflow);
        var job = await JobWatchedAsync();
        await WriteStatusAsync(job, """{"status":{"failed":1}}""");

        var wf = await CompletedAsync("migrate");
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod).Message.ShouldBe("failure condition 'status.failed > 0' evaluated true");
    }

    [Fact]
    public async Task After_a_restart_of_egw_the_node_finds_its_object_again_and_goes_on_waiting()
    {
        await StartAsync();
        await SubmitAsync(JobWorkflow);
        var job = await JobWatchedAsync();
        await _host!.DisposeAsync(); // egw goes away mid-wait
        _host = null;
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("jobs") == 0 ? "" : null), "the old watch closed");

        await StartAsync();
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("jobs") == 1 ? "" : null), "the restarted node watching");
        JobNameFromRequests().ShouldBe(job); // the same Job: no second one
        await WriteStatusAsync(job, """{"status":{"succeeded":1}}""");
        var wf = await CompletedAsync("migrate");
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod).Outputs!.Parameters!.Single().Value.ShouldBe(job);
    }

    [Fact]
    public async Task Apply_patch_get_and_delete_act_on_the_cluster_with_outputs_from_jqFilter()
    {
        _api.Create("configmaps", "ci", (JsonObject)JsonNode.Parse("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"doomed","namespace":"ci"},"data":{"a":"1"}}""")!);
        await StartAsync();
        await SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: ops, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  steps:
                    - [{name: apply, template: apply}]
                    - [{name: patch, template: patch}]
                    - [{name: get, template: get}]
                    - [{name: delete, template: delete}]
                - name: apply
                  resource:
                    action: apply
                    manifest: |
                      apiVersion: apps/v1
                      kind: Deployment
                      metadata: {name: web, labels: {app: web}}
                      spec: {replicas: 1}
                - name: patch
                  resource:
                    action: patch
                    mergeStrategy: json
                    flags: [deployment.v1.apps/web]
                    manifest: |
                      [{"op": "replace", "path": "/spec/replicas", "value": 4}]
                - name: get
                  resource:
                    action: get
                    manifest: |
                      apiVersion: apps/v1
                      kind: Deployment
                      metadata: {name: web}
                  outputs:
                    parameters:
                      - name: replicas
                        valueFrom: {jqFilter: .spec.replicas}
                - name: delete
                  resource:
                    action: delete
                    manifest: |
                      apiVersion: v1
                      kind: ConfigMap
                      metadata: {name: doomed}
            """);

        var wf = await CompletedAsync("ops");
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}: {n.Message}")));
        _api.Get("deployments", "ci", "web")!["spec"]!["replicas"]!.GetValue<int>().ShouldBe(4);
        wf.Status.Nodes!.Values.Single(n => n.DisplayName == "get").Outputs!.Parameters!.Single().Value.ShouldBe("4");
        _api.Get("configmaps", "ci", "doomed").ShouldBeNull();
        _api.Requests.ShouldContain(r => r.Method == "PATCH" && r.Path == "/apis/apps/v1/namespaces/ci/deployments/web" && r.Status == 200);
    }

    [Fact]
    public async Task A_refusal_of_the_API_server_fails_the_node_with_the_Status_message()
    {
        await StartAsync();
        await SubmitAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: bad, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  resource:
                    action: create
                    manifest: |
                      apiVersion: apps/v1
                      kind: Deployment
                      metadata: {name: Not_A_Name}
                      spec: {replicas: 1}
            """);
        var wf = await CompletedAsync("bad");
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var message = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod).Message!;
        message.ShouldStartWith("the API server answered 422 Invalid: ");
        message.ShouldContain("a lowercase RFC 1123 subdomain");
    }

    [Fact]
    public async Task A_workflow_submitted_through_the_REST_API_may_name_any_kind_the_cluster_serves()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Services.AddEventGateway(new EventGatewayOptions
        {
            DataDir = _dataDir, EventListenAddress = "127.0.0.1", Kubernetes = new KubernetesOptions { Kubeconfig = _kubeconfig },
        });
        await using var app = builder.Build();
        app.MapEventGatewayApi();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", EventGateway.Server.Security.AdminTokenFile.LoadOrCreate(_dataDir).Token);

        var workflow = new JsonObject { ["workflow"] = JsonNode.Parse(EventGateway.Model.Manifests.YamlToJson.Convert("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: deploy}
            spec:
              entrypoint: main
              templates:
                - name: main
                  resource:
                    action: create
                    manifest: |
                      apiVersion: apps/v1
                      kind: Deployment
                      metadata: {name: web}
                      spec: {replicas: 2}
            """).Single().Json) };
        using (var resp = await http.PostAsync("api/v1/workflows/ci", new StringContent(workflow.ToJsonString(), Encoding.UTF8, "application/json")))
            resp.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
        await Eventually.Get(() => Task.FromResult(_api.Get("deployments", "ci", "web")), "the Deployment the workflow created", TimeSpan.FromSeconds(60));
        await app.StopAsync();
    }
}

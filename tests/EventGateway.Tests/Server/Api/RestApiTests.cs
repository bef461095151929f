using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Tests.Server.Api;

/// <summary>The Argo-shaped REST API of a real `egw serve` on loopback.</summary>
public sealed class RestApiTests : IAsyncLifetime
{
    private ServeProcess _serve = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _serve = await ServeProcess.StartAsync();
        _http = _serve.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _serve.DisposeAsync();
    }

    private const string Hello = """
        {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
          "metadata": {"generateName": "hello-"},
          "spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "who", "value": "world"}]},
            "templates": [{"name": "main", "container": {"image": "busybox", "command": ["echo", "hello {{workflow.parameters.who}}"]}}]}}}
        """;

    [Fact]
    public async Task Submit_get_list_logs_delete()
    {
        var body = JsonNode.Parse(Hello)!.AsObject();
        body["parameters"] = new JsonArray("who=api");
        var created = await (await _http.PostAsync("api/v1/workflows/default", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<Workflow>(Json.Lenient);
        created!.Name.ShouldStartWith("hello-");
        created.Metadata.Uid.ShouldNotBeNullOrEmpty();

        var done = await Eventually.Get(async () => await _http.GetFromJsonAsync<Workflow>($"api/v1/workflows/default/{created.Name}", Json.Lenient) is { Status.IsCompleted: true } w ? w : null, "completion");
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        // Node and workflow times carry milliseconds.
        (await _http.GetStringAsync($"api/v1/workflows/default/{created.Name}")).ShouldMatch(@"""startedAt"":""\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z""");

        var list = await _http.GetFromJsonAsync<JsonObject>("api/v1/workflows/default");
        list!["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).ShouldContain(created.Name);

        var log = await _http.GetStringAsync($"api/v1/workflows/default/{created.Name}/log");
        var line = JsonNode.Parse(log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single())!["result"]!;
        line["content"]!.GetValue<string>().ShouldBe("hello api");
        line["podName"]!.GetValue<string>().ShouldBe(created.Name);

        (await _http.DeleteAsync($"api/v1/workflows/default/{created.Name}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _http.GetAsync($"api/v1/workflows/default/{created.Name}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        Directory.Exists(Path.Combine(_serve.DataDir, "pods", "default", created.Name)).ShouldBeFalse();
    }

    [Fact]
    public async Task An_invalid_workflow_is_refused_with_its_field_path_and_nothing_is_stored()
    {
        var bad = Hello.Replace("\"entrypoint\"", "\"paralelism\": 2, \"entrypoint\"");
        var resp = await _http.PostAsync("api/v1/workflows/default", new StringContent(bad, System.Text.Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var error = await resp.Content.ReadFromJsonAsync<JsonObject>();
        error!["code"]!.GetValue<int>().ShouldBe(3);
        error["message"]!.GetValue<string>().ShouldContain("spec.paralelism: unknown field \"paralelism\"");
        error["details"]![0]!["path"]!.GetValue<string>().ShouldBe("spec.paralelism");
        (await _http.GetFromJsonAsync<JsonObject>("api/v1/workflows/default"))!["items"]!.AsArray().ShouldBeEmpty();

        var notJson = await _http.PostAsync("api/v1/workflows/default", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await notJson.Content.ReadAsStringAsync()).ShouldContain("not JSON");
    }

    [Fact]
    public async Task Lint_reports_without_storing()
    {
        var resp = await _http.PostAsync("api/v1/workflows/default/lint", new StringContent(Hello.Replace("\"template\"", "\"template\"").Replace("\"main\", \"container\"", "\"other\", \"container\""), System.Text.Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await resp.Content.ReadAsStringAsync()).ShouldContain("template 'main' is not defined");
        (await _http.GetFromJsonAsync<JsonObject>("api/v1/workflows/default"))!["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task Workflow_templates_can_be_created_listed_and_used_by_reference()
    {
        var template = """
            {"template": {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "greeter"},
              "spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "who"}]},
                "templates": [{"name": "main", "inputs": {"parameters": [{"name": "who"}]},
                  "container": {"image": "busybox", "command": ["echo", "hi {{inputs.parameters.who}}"]}}]}}}
            """;
        (await _http.PostAsync("api/v1/workflow-templates/default", new StringContent(template, System.Text.Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _http.PostAsync("api/v1/workflow-templates/default", new StringContent(template, System.Text.Encoding.UTF8, "application/json"))).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await _http.GetFromJsonAsync<JsonObject>("api/v1/workflow-templates/default"))!["items"]!.AsArray().Count.ShouldBe(1);

        var byRef = """
            {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "greet-"},
              "spec": {"workflowTemplateRef": {"name": "greeter"}, "arguments": {"parameters": [{"name": "who", "value": "ref"}]}}}}
            """;
        var created = await (await _http.PostAsync("api/v1/workflows/default", new StringContent(byRef, System.Text.Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<Workflow>(Json.Lenient);
        var done = await Eventually.Get(async () => await _http.GetFromJsonAsync<Workflow>($"api/v1/workflows/default/{created!.Name}", Json.Lenient) is { Status.IsCompleted: true } w ? w : null, "completion");
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        (await _http.GetStringAsync($"api/v1/workflows/default/{done.Name}/log")).ShouldContain("hi ref");

        var missing = byRef.Replace("greeter", "absent");
        var resp = await _http.PostAsync("api/v1/workflows/default", new StringContent(missing, System.Text.Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await resp.Content.ReadAsStringAsync()).ShouldContain("WorkflowTemplate 'absent' not found");
    }

    [Fact]
    public async Task Health_endpoints_answer()
    {
        (await _http.GetStringAsync("healthz")).ShouldBe("ok");
        (await _http.GetStringAsync("readyz")).ShouldBe("ok");
    }
}

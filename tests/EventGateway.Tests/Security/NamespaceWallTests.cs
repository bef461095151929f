using System.Net;
using System.Text;
using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>Namespaces are walls: URLs name valid namespaces only, and a workflow reaches nothing outside its own.</summary>
public sealed class NamespaceWallTests
{
    private const string SecretValue = "hunter2-the-argo-events-token";

    private static readonly string Secret = $"""
        apiVersion: v1
        kind: Secret
        metadata: {"{"}name: webhook-token, namespace: argo-events{"}"}
        stringData: {"{"}token: {SecretValue}{"}"}
        """;

    private static string Stealer(string name, string manifestNamespace) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: {{name}}, namespace: default}
        spec:
          entrypoint: steal
          arguments: {parameters: [{name: ns, value: argo-events}]}
          templates:
          - name: steal
            resource:
              action: get
              manifest: |
                apiVersion: v1
                kind: Secret
                metadata: {name: webhook-token, namespace: {{manifestNamespace}}}
            outputs:
              parameters:
              - name: token
                valueFrom: {jsonPath: "{.stringData.token}"}
        """;

    private static async Task<(HttpStatusCode Status, string Message)> Answer(HttpResponseMessage r)
    {
        var body = await r.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(body);
        return (r.StatusCode, doc.RootElement.GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task A_resource_get_of_another_namespaces_Secret_is_refused_at_submit()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        (await http.PostAsync("api/v1/apply", new StringContent(Secret, Encoding.UTF8, "application/yaml"))).EnsureSuccessStatusCode();
        var wf = ManifestReader.Read(Stealer("steal", "argo-events")).OfType<Workflow>().Single();
        var body = JsonSerializer.Serialize(wf, Json.Options);

        var (status, message) = await Answer(await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(body)));
        status.ShouldBe(HttpStatusCode.BadRequest);
        message.ShouldBe("request: document 1 (Workflow/steal): spec.templates[0].resource.manifest: resource.manifest metadata.namespace 'argo-events' is refused: a workflow acts only in its own namespace 'default'");
        (await http.GetAsync("api/v1/workflows/default/steal")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_templated_namespace_ends_the_node_in_Error_and_the_secret_is_nowhere_in_status_or_archive()
    {
        await using var t = await TestEngine.StartAsync();
        await t.Engine.ApplyAsync(ManifestReader.Read(Secret));
        var wf = await t.RunYamlAsync(Stealer("steal", "\"{{workflow.parameters.ns}}\""));

        var node = TestEngine.Node(wf, "steal");
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldBe("resource.manifest metadata.namespace 'argo-events' is refused: a workflow acts only in its own namespace 'default'");
        var archived = await Eventually.Get(() => t.Engine.Archive!.FindAsync("default", "steal"), "the workflow to be archived");
        JsonSerializer.Serialize(archived, Json.Options).ShouldNotContain(SecretValue);

        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(SecretValue));
        JsonSerializer.Serialize(wf, Json.Options).ShouldNotContain(SecretValue);
        foreach (var file in Directory.GetFiles(t.DataDir, "archive.db*"))
        {
            var bytes = Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file));
            bytes.ShouldNotContain(SecretValue, customMessage: file);
            bytes.ShouldNotContain(encoded, customMessage: file);
        }
    }

    [Fact]
    public async Task The_own_namespace_is_reachable_and_a_cluster_scoped_object_may_be_read_but_not_changed()
    {
        await using var t = await TestEngine.StartAsync();
        await t.Engine.ApplyAsync(ManifestReader.Read(Secret.Replace("namespace: argo-events", "namespace: default", StringComparison.Ordinal)));
        var own = await t.RunYamlAsync(Stealer("own", "default"));
        own.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, own.Status.Message);
        TestEngine.Node(own, "own").Outputs!.Parameters!.Single().Value.ShouldBe(SecretValue);

        var change = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: change}
            spec:
              entrypoint: main
              templates:
              - name: main
                resource:
                  action: delete
                  manifest: |
                    apiVersion: argoproj.io/v1alpha1
                    kind: ClusterWorkflowTemplate
                    metadata: {name: shared}
            """).OfType<Workflow>().Single();
        (await Should.ThrowAsync<ManifestException>(() => t.Engine.SubmitAsync(change))).Errors.ShouldHaveSingleItem().Reason
            .ShouldBe("resource.action 'delete' on ClusterWorkflowTemplate, which is cluster-scoped, is refused: a workflow changes only objects in its own namespace 'default'");
    }

    [Theory]
    [InlineData("POST", "api/v1/workflows/UPPER_case!", "namespace 'UPPER_case!' in the URL is not a valid namespace")]
    [InlineData("POST", "api/v1/workflows/...", "namespace '...' in the URL is not a valid namespace")]
    [InlineData("POST", "api/v1/workflows/-", "namespace '-' in the URL is not a valid namespace")]
    [InlineData("POST", "api/v1/workflow-templates/a_b", "namespace 'a_b' in the URL is not a valid namespace")]
    [InlineData("POST", "api/v1/event-sources/x%2F..%2Fetc", "namespace 'x%2F..%2Fetc' in the URL is not a valid namespace")]
    [InlineData("GET", "api/v1/workflows/default/Bad_Name", "name 'Bad_Name' in the URL is not a valid name")]
    [InlineData("DELETE", "api/v1/workflows/default/.hidden", "name '.hidden' in the URL is not a valid name")]
    public async Task A_namespace_or_name_in_the_URL_that_is_not_a_Kubernetes_name_is_400_and_creates_nothing(string method, string url, string reason)
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        var before = Directory.GetFileSystemEntries(serve.DataDir, "*", SearchOption.AllDirectories).Where(p => !p.Contains(".db", StringComparison.Ordinal)).Order().ToList();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(url, UriKind.Relative))
        {
            Content = method == "POST" ? ServeProcess.Json("""{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"}, "spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "busybox", "command": ["true"]}}]}}""") : null,
        };
        var (status, message) = await Answer(await http.SendAsync(request));
        status.ShouldBe(HttpStatusCode.BadRequest);
        message.ShouldStartWith(reason);
        Directory.GetFileSystemEntries(serve.DataDir, "*", SearchOption.AllDirectories).Where(p => !p.Contains(".db", StringComparison.Ordinal)).Order().ToList().ShouldBe(before);
        (await http.GetStringAsync("api/v1/workflows/-")).ShouldContain("\"items\":[]");
    }

    [Fact]
    public async Task A_body_naming_another_namespace_than_the_URL_is_refused()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        var (status, message) = await Answer(await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(
            """{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": "argo-events"}, "spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "busybox", "command": ["true"]}}]}}""")));
        status.ShouldBe(HttpStatusCode.BadRequest);
        message.ShouldBe("request: document 1 (Workflow/w): workflow.metadata.namespace: 'argo-events' differs from the namespace in the path 'default'");
        (await http.GetStringAsync("api/v1/workflows/-")).ShouldContain("\"items\":[]");
    }

    [Fact]
    public async Task A_ClusterWorkflowTemplate_resolves_secrets_in_the_namespace_of_the_workflow_that_runs_it()
    {
        await using var t = await TestEngine.StartAsync();
        await t.Engine.ApplyAsync(ManifestReader.Read($$"""
            {{Secret}}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: webhook-token, namespace: team-a}
            stringData: {token: team-a-token}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: ClusterWorkflowTemplate
            metadata: {name: print-token}
            spec:
              templates:
              - name: print
                container:
                  image: busybox
                  command: [sh, -c, 'echo token=$TOKEN']
                  env:
                  - name: TOKEN
                    valueFrom:
                      secretKeyRef: {name: webhook-token, key: token}
            """));
        static string Caller(string ns) => $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: caller, namespace: {{ns}}}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: print
                    templateRef: {name: print-token, template: print, clusterScope: true}
            """;

        var teamA = await t.RunYamlAsync(Caller("team-a"));
        teamA.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, teamA.Status.Message);
        var log = t.Logs(teamA, TestEngine.Node(teamA, "print"));
        log.ShouldContain("token=team-a-token");
        log.ShouldNotContain(SecretValue);

        var other = await t.RunYamlAsync(Caller("other"));
        var node = TestEngine.Node(other, "print");
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldBe("env TOKEN: secret \"webhook-token\" not found");
        JsonSerializer.Serialize(other, Json.Options).ShouldNotContain(SecretValue);
    }
}

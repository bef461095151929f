using Amazon.S3.Model;
using EventGateway.Model;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Workflows.Features;

/// <summary>Argo's data-transformations.yaml against a real S3 server (s3rver) as the default artifact repository.</summary>
public sealed class DataTemplateTests
{
    private const string Bucket = "my-bucket";

    /// <summary>Argo's default artifact repository (its ConfigMap and credentials) on the test's S3 server.</summary>
    private static string Repository(S3Server s3) => s3.DefaultRepositoryManifests(Bucket);

    private static string Example() =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsFeatures", "data-transformations.yaml"));

    [Fact]
    public async Task Argos_example_lists_the_bucket_filters_the_keys_and_fans_out_over_them()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        foreach (var (key, body) in new[] { ("a/main.log", "log of a"), ("b/main.log", "log of b"), ("b/other.log", "other"), ("c/", "") })
            await s3.Client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, ContentBody = body, UseChunkEncoding = false });
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + Example());

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var list = TestEngine.Node(wf, "list-log-files");
        list.Outputs!.Result.ShouldBe("""["a/main.log","b/main.log"]""");
        var processed = wf.Status.Nodes!.Values.Where(n => n.DisplayName.StartsWith("process-logs(", StringComparison.Ordinal)).OrderBy(n => n.DisplayName).ToList();
        processed.Select(n => t.Logs(wf, n).Trim()).ShouldBe(["a/main.log\nlog of a", "b/main.log\nlog of b"]);
    }

    [Fact]
    public async Task A_failing_expression_errors_the_node_with_the_reason()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: data-bad}
            spec:
              entrypoint: main
              templates:
              - name: main
                data:
                  source: {artifactPaths: {name: b, s3: {bucket: my-bucket}}}
                  transformation: [{expression: "nosuchfunction(data)"}]
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        TestEngine.Node(wf, "data-bad").Message!.ShouldStartWith("unable to process data transformation: error processing data step 0: ");
    }
}

using Amazon.S3.Model;
using Shouldly;
using EventGateway.Model;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Workflows.Artifacts;

/// <summary>
/// Argo's examples that keep artifacts unarchived in a bucket, against a real S3 server (s3rver) and real sandboxed
/// steps: a directory with <c>archive: none</c> is one object per file under its key, an input whose key names such a
/// "directory" gets all of it, <c>subPath</c> picks one file out of an artifact, and "key-only" artifacts (only
/// <c>s3.key</c>) live in the workflow's repository. Steps can create directories under /mnt as in a container.
/// </summary>
public sealed class UnarchivedArtifactTests
{
    private const string Bucket = "my-bucket";
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime");

    /// <summary>Argo's default artifact repository (its ConfigMap and credentials) on the test's S3 server.</summary>
    private static string Repository(S3Server s3) => s3.DefaultRepositoryManifests(Bucket);

    private static async Task<List<string>> KeysAsync(S3Server s3, string prefix) =>
        (await s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix })).S3Objects?.Select(o => o.Key).Order().ToList() ?? [];

    private static async Task<string> TextAsync(S3Server s3, string key)
    {
        using var response = await s3.Client.GetObjectAsync(Bucket, key);
        return await new StreamReader(response.ResponseStream).ReadToEndAsync();
    }

    [Fact]
    public async Task Argos_map_reduce_example_splits_maps_and_reduces_through_unarchived_keys()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + await File.ReadAllTextAsync(Path.Combine(Fixtures, "map-reduce.yaml")));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        (await KeysAsync(s3, $"{wf.Name}/")).ShouldBe([
            .. Enumerable.Range(0, 4).Select(i => $"{wf.Name}/parts/{i}.json"),
            .. Enumerable.Range(0, 4).Select(i => $"{wf.Name}/results/{i}.json"),
            $"{wf.Name}/total.json",
        ], ignoreOrder: true);
        (await TextAsync(s3, $"{wf.Name}/results/3.json")).ShouldBe("""{"bar": 8}""");
        (await TextAsync(s3, $"{wf.Name}/total.json")).ShouldBe("""{"total": 20}""");
    }

    [Fact]
    public async Task Argos_artifact_passing_subpath_example_passes_a_directory_and_one_file_of_it()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + await File.ReadAllTextAsync(Path.Combine(Fixtures, "artifact-passing-subpath.yaml")));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var generate = TestEngine.Node(wf, "generate-artifact");
        var saved = generate.Outputs!.Artifacts.ShouldHaveSingleItem();
        saved.S3!.Key.ShouldBe($"{wf.Name}/{generate.Id}/tmp");
        (await KeysAsync(s3, saved.S3.Key + "/")).ShouldBe([$"{saved.S3.Key}/hello_world.txt"]);
        t.Logs(wf, TestEngine.Node(wf, "list-artifact")).Trim().ShouldBe("hello_world.txt");
        t.Logs(wf, TestEngine.Node(wf, "consume-artifact")).Trim().ShouldBe("hello world");
    }

    [Fact]
    public async Task The_same_subpath_example_works_with_the_local_repository()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(await File.ReadAllTextAsync(Path.Combine(Fixtures, "artifact-passing-subpath.yaml")));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "list-artifact")).Trim().ShouldBe("hello_world.txt");
        t.Logs(wf, TestEngine.Node(wf, "consume-artifact")).Trim().ShouldBe("hello world");
    }

    /// <summary>
    /// Argo's key-only-artifact.yaml, with the commands argoproj/argosay's entrypoint would run written out (the local
    /// executor runs commands, not images): argosay's <c>echo hello /mnt/file</c> writes "hello" to /mnt/file.
    /// </summary>
    [Fact]
    public async Task Key_only_artifacts_are_stored_and_read_at_their_key_in_the_repository()
    {
        var example = (await File.ReadAllTextAsync(Path.Combine(Fixtures, "key-only-artifact.yaml")))
            .Replace("args: [ echo, hello, /mnt/file ]", "command: [sh, -c, 'printf hello > /mnt/file']", StringComparison.Ordinal)
            .Replace("args: [cat, /tmp/file]", "command: [cat, /tmp/file]", StringComparison.Ordinal);
        example.ShouldContain("printf hello");
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + example);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        (await KeysAsync(s3, "")).ShouldBe(["my-file"]);
        t.Logs(wf, TestEngine.Node(wf, "consume")).ShouldBe("hello");
    }
}

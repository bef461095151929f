using Amazon.S3.Model;
using EventGateway.Model;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>
/// Artifact keys cannot leave where they belong: a ".." segment (or, locally, an absolute or non-normal key)
/// is refused in output and input artifacts, and a workflow's local input artifacts are confined to its own
/// namespace. The node ends in Error with a one-line reason naming the artifact and the key, and nothing is
/// written or read outside.
/// </summary>
public sealed class ArtifactKeyTests
{
    private static void ShouldBeRefused(Workflow wf, string node, string artifact, string key, string why)
    {
        wf.Status!.Phase.ShouldNotBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var n = TestEngine.Node(wf, node);
        n.Phase.ShouldBe(NodePhase.Error);
        n.Message.ShouldNotBeNull();
        n.Message.ShouldContain($"artifact '{artifact}'");
        n.Message.ShouldContain($"key '{key}'");
        n.Message.ShouldContain(why);
        n.Message.ShouldNotContain("\n");
        n.Message.ShouldNotContain("Exception");
    }

    /// <summary>Every file under the artifact repository, relative to it.</summary>
    private static string[] RepositoryFiles(TestEngine t)
    {
        var root = Path.Combine(t.DataDir, "artifacts");
        return Directory.Exists(root) ? Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).ToArray() : [];
    }

    [Theory]
    [InlineData("../../../b/planted")]           // into another namespace's part of the repository
    [InlineData("../../../../planted")]          // out of the repository, into the data directory
    [InlineData("../../../../../planted")]       // out of the data directory
    public async Task An_output_artifact_whose_name_climbs_is_refused_and_nothing_is_written(string name)
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: climb-, namespace: a}
            spec:
              entrypoint: make
              templates:
              - name: make
                container: {image: busybox, command: [sh, -c, "echo planted > /tmp/out.txt"]}
                outputs:
                  artifacts:
                  - {name: "{{name}}", path: /tmp/out.txt}
            """);
        ShouldBeRefused(wf, wf.Name, name, $"a/{wf.Name}/{wf.Name}/{name}", "'..' segment");
        File.Exists(Path.Combine(t.DataDir, "artifacts", "b", "planted")).ShouldBeFalse();
        File.Exists(Path.Combine(t.DataDir, "planted")).ShouldBeFalse();
        File.Exists(Path.Combine(Path.GetDirectoryName(t.DataDir)!, "planted")).ShouldBeFalse();
        RepositoryFiles(t).ShouldBeEmpty();
    }

    /// <summary>Runs a workflow in namespace b that saves a secret as a local artifact; returns its key and content.</summary>
    private static async Task<(string Key, string Secret)> OtherNamespacesArtifactAsync(TestEngine t)
    {
        var secret = $"b-secret-{Guid.NewGuid():N}";
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: owner-, namespace: b}
            spec:
              entrypoint: make
              templates:
              - name: make
                container: {image: busybox, command: [sh, -c, "echo {{secret}} > /tmp/s.txt"]}
                outputs:
                  artifacts:
                  - {name: s, path: /tmp/s.txt}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var key = wf.Status.Nodes![wf.Name].Outputs!.Artifacts!.Single().Local!.Key;
        key.ShouldStartWith("b/");
        File.ReadAllText(Path.Combine(t.DataDir, "artifacts", key)).ShouldContain(secret);
        return (key, secret);
    }

    [Theory]
    [InlineData("{0}", "outside namespace 'a'")]                // another namespace's key, named directly
    [InlineData("a/../{0}", "'..' segment")]                     // climbs out of a/
    [InlineData("a/x/../../{0}", "'..' segment")]
    [InlineData("{1}/artifacts/{0}", "absolute path")]          // the file on the host
    [InlineData("a/./../{0}", "'..' segment")]
    [InlineData("a//../{0}", "'..' segment")]
    public async Task An_input_artifact_cannot_load_another_namespaces_artifact_by_key(string keyFormat, string why)
    {
        await using var t = await TestEngine.StartAsync();
        var (bKey, secret) = await OtherNamespacesArtifactAsync(t);
        var key = string.Format(System.Globalization.CultureInfo.InvariantCulture, keyFormat, bKey, t.DataDir);
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: thief-, namespace: a}
            spec:
              entrypoint: use
              templates:
              - name: use
                inputs:
                  artifacts:
                  - {name: loot, path: /in/loot.txt, local: {key: "{{key}}"} }
                container: {image: busybox, command: [sh, -c, "cat /in/loot.txt"]}
            """);
        ShouldBeRefused(wf, wf.Name, "loot", key, why);
        t.Logs(wf, TestEngine.Node(wf, wf.Name)).ShouldNotContain(secret);
        System.Text.Json.JsonSerializer.Serialize(wf).ShouldNotContain(secret);
        RepositoryFiles(t).ShouldAllBe(f => f.StartsWith("b/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_artifact_reference_cannot_smuggle_another_namespaces_key()
    {
        await using var t = await TestEngine.StartAsync();
        var (bKey, secret) = await OtherNamespacesArtifactAsync(t);
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: thief-, namespace: a}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    template: use
                    arguments:
                      artifacts:
                      - {name: loot, from: '{"name":"loot","local":{"key":"{{bKey}}"} }' }
              - name: use
                inputs:
                  artifacts:
                  - {name: loot, path: /in/loot.txt}
                container: {image: busybox, command: [sh, -c, "cat /in/loot.txt"]}
            """);
        ShouldBeRefused(wf, "use", "loot", bKey, "outside namespace 'a'");
        t.Logs(wf, TestEngine.Node(wf, "use")).ShouldNotContain(secret);
        System.Text.Json.JsonSerializer.Serialize(wf).ShouldNotContain(secret);
    }

    private const string Bucket = "artifacts";

    private static string S3Repository(S3Server s3) => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: s3-cred, namespace: a}
        stringData: {accessKey: {{S3Server.AccessKey}}, secretKey: {{S3Server.SecretKey}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: artifact-repositories
          namespace: a
          annotations: {workflows.argoproj.io/default-artifact-repository: default}
        data:
          default: |
            s3:
              endpoint: {{s3.Endpoint}}
              bucket: {{Bucket}}
              insecure: true
              accessKeySecret: {name: s3-cred, key: accessKey}
              secretKeySecret: {name: s3-cred, key: secretKey}
        ---

        """;

    [Fact]
    public async Task An_S3_output_key_with_dotdot_is_refused_and_no_object_is_written()
    {
        await using var s3 = await S3Server.StartAsync(Bucket, "other");
        await using var t = await TestEngine.StartAsync();
        const string key = "out/../../other/planted.txt";
        var wf = await t.RunYamlAsync(S3Repository(s3) + $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: s3climb-, namespace: a}
            spec:
              entrypoint: make
              templates:
              - name: make
                container: {image: busybox, command: [sh, -c, "echo planted > /tmp/out.txt"]}
                outputs:
                  artifacts:
                  - {name: out, path: /tmp/out.txt, archive: {none: {} }, s3: {key: "{{key}}"} }
            """);
        ShouldBeRefused(wf, wf.Name, "out", key, "'..' segment");
        foreach (var bucket in new[] { Bucket, "other" })
            ((await s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket })).S3Objects ?? []).ShouldBeEmpty();
        Directory.GetFiles(s3.Directory, "*planted*", SearchOption.AllDirectories).ShouldBeEmpty();
        File.Exists(Path.Combine(Path.GetDirectoryName(s3.Directory)!, "planted.txt")).ShouldBeFalse();
    }

    [Fact]
    public async Task An_S3_input_key_with_dotdot_is_refused_and_nothing_is_read()
    {
        await using var s3 = await S3Server.StartAsync(Bucket, "other");
        var secret = $"other-secret-{Guid.NewGuid():N}";
        await s3.PutAsync("other", "secret.txt", secret);
        await using var t = await TestEngine.StartAsync();
        const string key = "in/../../other/secret.txt";
        var wf = await t.RunYamlAsync(S3Repository(s3) + $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: s3climb-, namespace: a}
            spec:
              entrypoint: use
              templates:
              - name: use
                inputs:
                  artifacts:
                  - {name: loot, path: /in/loot.txt, archive: {none: {} }, s3: {key: "{{key}}"} }
                container: {image: busybox, command: [sh, -c, "cat /in/loot.txt"]}
            """);
        ShouldBeRefused(wf, wf.Name, "loot", key, "'..' segment");
        t.Logs(wf, TestEngine.Node(wf, wf.Name)).ShouldNotContain(secret);
        RepositoryFiles(t).ShouldAllBe(f => !File.ReadAllText(Path.Combine(t.DataDir, "artifacts", f)).Contains(secret));
    }
}

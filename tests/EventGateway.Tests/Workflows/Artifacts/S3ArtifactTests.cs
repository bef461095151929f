using System.Formats.Tar;
using System.IO.Compression;
using Amazon.S3;
using Amazon.S3.Model;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Workflows.Artifacts;

namespace EventGateway.Tests.Workflows.Artifacts;

/// <summary>S3 artifact repositories against a real S3 server (s3rver on loopback) and real sandboxed steps.</summary>
public sealed class S3ArtifactTests
{
    private const string Bucket = "artifacts";

    /// <summary>The Secret with s3rver's keys and the artifact-repositories ConfigMap pointing at the server.</summary>
    private static string Repository(S3Server s3, string accessKey = S3Server.AccessKey, string extra = "") => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: s3-cred}
        stringData: {accessKey: {{accessKey}}, secretKey: {{S3Server.SecretKey}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: artifact-repositories}
        data:
          default: |
            s3:
              endpoint: {{s3.Endpoint}}
              bucket: {{Bucket}}
              insecure: true
              accessKeySecret: {name: s3-cred, key: accessKey}
              secretKeySecret: {name: s3-cred, key: secretKey}
        {{extra}}
        ---

        """;

    private static async Task<byte[]?> ObjectAsync(S3Server s3, string key)
    {
        try
        {
            using var response = await s3.Client.GetObjectAsync(Bucket, key);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static async Task<List<string>> KeysAsync(S3Server s3) =>
        (await s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket })).S3Objects?.Select(o => o.Key).ToList() ?? [];

    /// <summary>The entries of a tar+gzip object: name to content (directories map to null).</summary>
    private static Dictionary<string, string?> Untar(byte[] tgz)
    {
        tgz[..2].ShouldBe(new byte[] { 0x1f, 0x8b }, "a tar+gzip object starts with the gzip magic");
        var entries = new Dictionary<string, string?>();
        using var reader = new TarReader(new GZipStream(new MemoryStream(tgz), CompressionMode.Decompress));
        while (reader.GetNextEntry() is { } e)
            entries[e.Name.TrimEnd('/')] = e.DataStream is null ? null : new StreamReader(e.DataStream).ReadToEnd();
        return entries;
    }

    private static string Seed() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Seeds", "28-s3-s3-artifacts.yaml"));

    [Fact]
    public async Task Seed_workflow_round_trips_its_artifact_through_the_bucket()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + Seed());

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "process")).ShouldContain("Sum: 15");

        var key = $"workflows/{wf.Name}/data.json";
        (await KeysAsync(s3)).ShouldBe([key]);
        var entries = Untar((await ObjectAsync(s3, key))!);
        entries.Keys.ShouldBe(["data.json"]);
        entries["data.json"]!.ShouldContain("\"results\": [1, 2, 3, 4, 5]");

        // Where it went is in the node's status, so later steps and a restarted service can find it.
        var saved = TestEngine.Node(wf, "generate").Outputs!.Artifacts!.Single();
        saved.S3!.Key.ShouldBe(key);
        saved.S3.Bucket.ShouldBe(Bucket);
        saved.S3.Endpoint.ShouldBe(s3.Endpoint);
        saved.S3.AccessKeySecret!.Name.ShouldBe("s3-cred");
        saved.Local.ShouldBeNull();
        wf.Status.ArtifactRepositoryRef!.ConfigMap.ShouldBe("artifact-repositories");
        wf.Status.ArtifactRepositoryRef.Key.ShouldBe("default");
    }

    private const string Archives = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: archives}
        spec:
          entrypoint: main
          artifactRepositoryRef: {key: default}
          templates:
          - name: main
            steps:
            - - name: make
                template: make
            - - name: use
                template: use
                arguments:
                  artifacts:
                  - {name: plain, from: "{{steps.make.outputs.artifacts.plain}}"}
                  - {name: stored, from: "{{steps.make.outputs.artifacts.stored}}"}
                  - {name: tree, from: "{{steps.make.outputs.artifacts.tree}}"}
          - name: make
            container:
              image: alpine
              command: [sh, -c, "echo plain-text > /tmp/plain.txt; echo stored-text > /tmp/stored.txt; mkdir -p /tmp/tree/sub; echo a > /tmp/tree/a; echo b > /tmp/tree/sub/b"]
            outputs:
              artifacts:
              - {name: plain, path: /tmp/plain.txt, archive: {none: {}}}
              - {name: stored, path: /tmp/stored.txt, archive: {tar: {compressionLevel: 0}}}
              - {name: tree, path: /tmp/tree}
          - name: use
            inputs:
              artifacts:
              - {name: plain, path: /tmp/in/plain.txt}
              - {name: stored, path: /tmp/in/stored.txt}
              - {name: tree, path: /tmp/in/tree}
            container:
              image: alpine
              command: [sh, -c, "cat /tmp/in/plain.txt /tmp/in/stored.txt /tmp/in/tree/a /tmp/in/tree/sub/b"]
        """;

    [Fact]
    public async Task Archive_none_stores_the_file_as_is_and_tar_gzip_is_the_default_under_argos_key_format()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + Archives);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "use")).ShouldBe("plain-text\nstored-text\na\nb\n");
        var pod = TestEngine.Node(wf, "make").Id;
        // Argo's default key format {{workflow.name}}/{{pod.name}}, then NAME.tgz or, without an archive, the file's name.
        (await KeysAsync(s3)).Order().ShouldBe([$"archives/{pod}/plain.txt", $"archives/{pod}/stored.tgz", $"archives/{pod}/tree.tgz"]);
        System.Text.Encoding.UTF8.GetString((await ObjectAsync(s3, $"archives/{pod}/plain.txt"))!).ShouldBe("plain-text\n");
        Untar((await ObjectAsync(s3, $"archives/{pod}/stored.tgz"))!)["stored.txt"].ShouldBe("stored-text\n");
        var tree = Untar((await ObjectAsync(s3, $"archives/{pod}/tree.tgz"))!);
        tree["tree/a"].ShouldBe("a\n");
        tree["tree/sub/b"].ShouldBe("b\n");
    }

    [Fact]
    public async Task An_artifact_naming_its_own_bucket_needs_no_repository()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3).Split("---")[0] + $$$"""
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: own-bucket}
            spec:
              entrypoint: make
              templates:
              - name: make
                container: {image: alpine, command: [sh, -c, "echo mine > /tmp/mine.txt"]}
                outputs:
                  artifacts:
                  - name: mine
                    path: /tmp/mine.txt
                    archive: {none: {}}
                    s3:
                      endpoint: {{{s3.Endpoint}}}
                      bucket: {{{Bucket}}}
                      insecure: true
                      key: own/mine.txt
                      accessKeySecret: {name: s3-cred, key: accessKey}
                      secretKeySecret: {name: s3-cred, key: secretKey}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        wf.Status.ArtifactRepositoryRef.ShouldBeNull();
        System.Text.Encoding.UTF8.GetString((await ObjectAsync(s3, "own/mine.txt"))!).ShouldBe("mine\n");
    }

    [Fact]
    public async Task A_key_without_any_repository_fails_the_node_saying_what_to_configure()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: no-repo}
            spec:
              entrypoint: make
              templates:
              - name: make
                container: {image: alpine, command: [sh, -c, "echo x > /tmp/x"]}
                outputs:
                  artifacts:
                  - {name: x, path: /tmp/x, s3: {key: "workflows/{{workflow.name}}/x"}}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        TestEngine.Node(wf, "no-repo").Message.ShouldBe("failed to save outputs: artifact 'x': s3 names no bucket and the workflow has no S3 artifact repository: " +
            "set s3.bucket, an artifactRepositoryRef, the namespace's artifact-repositories ConfigMap, or egw serve --artifact-repository");
    }

    /// <summary>As Argo's S3 driver stores it (PutDirectory): one object per file under the key, which names the directory.</summary>
    [Fact]
    public async Task A_directory_without_an_archive_is_one_object_per_file_under_its_key()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: dir-none}
            spec:
              entrypoint: make
              artifactRepositoryRef: {key: default}
              templates:
              - name: make
                container: {image: alpine, command: [sh, -c, "mkdir -p /tmp/d/sub && echo x > /tmp/d/x && echo y > /tmp/d/sub/y"]}
                outputs:
                  artifacts:
                  - {name: d, path: /tmp/d, archive: {none: {}}}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        TestEngine.Node(wf, "dir-none").Outputs!.Artifacts.ShouldHaveSingleItem().S3!.Key.ShouldBe("dir-none/dir-none/d");
        (await KeysAsync(s3)).ShouldBe(["dir-none/dir-none/d/sub/y", "dir-none/dir-none/d/x"], ignoreOrder: true);
    }

    private const string Collected = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: NAME}
        spec:
          entrypoint: make
          artifactRepositoryRef: {key: default}
          artifactGC: {strategy: STRATEGY}
          templates:
          - name: make
            container: {image: alpine, command: [sh, -c, "echo 1 > /tmp/one; echo 2 > /tmp/two"]}
            outputs:
              artifacts:
              - {name: one, path: /tmp/one}
              - {name: two, path: /tmp/two, artifactGC: {strategy: Never}}
        """;

    [Fact]
    public async Task ArtifactGC_OnWorkflowCompletion_deletes_the_objects_when_the_workflow_finishes_except_those_marked_Never()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + Collected.Replace("NAME", "gc-completion").Replace("STRATEGY", "OnWorkflowCompletion"));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var pod = TestEngine.Node(wf, "gc-completion").Id;

        await Eventually.Get(async () => (await KeysAsync(s3)).Count == 1 ? "collected" : null, "OnWorkflowCompletion artifacts to be deleted");
        (await KeysAsync(s3)).ShouldBe([$"gc-completion/{pod}/two.tgz"]);
        var marked = await Eventually.Get(async () =>
        {
            var now = await t.Engine.Store.GetAsync<Workflow>("default", "gc-completion");
            return now!.Status!.Nodes![pod].Outputs!.Artifacts!.Single(a => a.Name == "one").Deleted == true ? now : null;
        }, "the deleted artifact to be marked in the node's outputs");
        marked.Status!.Nodes![pod].Outputs!.Artifacts!.Single(a => a.Name == "two").Deleted.ShouldBeNull();
        marked.Status.Conditions?.Any(c => c.Type == ArtifactGarbageCollector.ArtifactGCError).ShouldNotBe(true);
    }

    [Fact]
    public async Task ArtifactGC_OnWorkflowDeletion_keeps_the_objects_until_the_workflow_is_deleted_from_the_store()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3) + Collected.Replace("NAME", "gc-deletion").Replace("STRATEGY", "OnWorkflowDeletion"));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var pod = TestEngine.Node(wf, "gc-deletion").Id;
        (await KeysAsync(s3)).Order().ShouldBe([$"gc-deletion/{pod}/one.tgz", $"gc-deletion/{pod}/two.tgz"]);

        (await t.Engine.Store.DeleteAsync<Workflow>("default", "gc-deletion")).ShouldBeTrue();
        await Eventually.Get(async () => (await KeysAsync(s3)).Count == 1 ? "collected" : null, "OnWorkflowDeletion artifacts to be deleted");
        (await KeysAsync(s3)).ShouldBe([$"gc-deletion/{pod}/two.tgz"]);
    }

    [Fact]
    public async Task ArtifactGC_deletion_survives_a_restart_between_completion_and_deletion()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        var dataDir = Directory.CreateTempSubdirectory("egw-test-").FullName;
        // The first service stops without removing its data directory, which the second one takes over.
        var first = await TestEngine.StartAsync(dataDir: dataDir);
        var wf = await first.RunYamlAsync(Repository(s3) + Collected.Replace("NAME", "gc-restart").Replace("STRATEGY", "OnWorkflowDeletion"));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var pod = TestEngine.Node(wf, "gc-restart").Id;
        await first.Engine.DisposeAsync();
        // Deleted while no service runs: nothing watches the store.
        using (var store = new EventGateway.Workflows.Store.SqliteResourceStore(Path.Combine(dataDir, "egw.db"), TimeProvider.System))
            (await store.DeleteAsync<Workflow>("default", "gc-restart")).ShouldBeTrue();
        (await KeysAsync(s3)).Count.ShouldBe(2);
        await using var second = await TestEngine.StartAsync(dataDir: dataDir);
        await Eventually.Get(async () => (await KeysAsync(s3)).Count == 1 ? "collected" : null, "the restarted service to collect the deleted workflow's artifacts");
        (await KeysAsync(s3)).ShouldBe([$"gc-restart/{pod}/two.tgz"]);
    }

    [Fact]
    public async Task A_failed_artifactGC_is_reported_as_a_workflow_condition_naming_the_object()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var docs = EventGateway.Server.Hosting.ManifestReader.Read(Repository(s3) + """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: gc-fails}
            spec:
              entrypoint: main
              artifactRepositoryRef: {key: default}
              artifactGC: {strategy: OnWorkflowCompletion}
              templates:
              - name: main
                steps:
                - - {name: make, template: make}
                - - {name: wait, template: wait}
              - name: make
                container: {image: alpine, command: [sh, -c, "echo 1 > /tmp/one"]}
                outputs:
                  artifacts:
                  - {name: one, path: /tmp/one}
              - name: wait
                suspend: {}
            """, "test.yaml");
        await t.Engine.ApplyAsync(docs);
        var submitted = await t.Engine.SubmitAsync(docs.OfType<Workflow>().Single());
        await Eventually.Get(async () => (await t.Engine.Store.GetAsync<Workflow>("default", "gc-fails"))!.Status?.Nodes?.Values
            .Any(n => n.DisplayName == "wait" && n.Phase == NodePhase.Running) == true ? "suspended" : null, "the workflow to wait at its suspend step");
        var pod = (await t.Engine.Store.GetAsync<Workflow>("default", "gc-fails"))!.Status!.Nodes!.Values.Single(n => n.DisplayName == "make").Id;

        // The bucket becomes unreachable before the workflow completes.
        await s3.StopAsync();
        await new EventGateway.Workflows.Controls.WorkflowControls(t.Engine.Store, TimeProvider.System).ResumeAsync("default", "gc-fails");
        (await t.Engine.WaitAsync(submitted)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        var reported = await Eventually.Get(async () => (await t.Engine.Store.GetAsync<Workflow>("default", "gc-fails"))!.Status!.Conditions?
            .SingleOrDefault(c => c.Type == ArtifactGarbageCollector.ArtifactGCError), "the artifactGC failure to be reported");
        reported.Status.ShouldBe("True");
        reported.Message.ShouldStartWith($"artifact 'one' of node {pod}: failed to delete s3://{Bucket}/gc-fails/{pod}/one.tgz: ");
        await s3.StartAgainAsync();
        (await KeysAsync(s3)).ShouldBe([$"gc-fails/{pod}/one.tgz"], "the object is still there, as the condition says");
    }

    [Fact]
    public async Task Wrong_credentials_fail_the_node_with_a_message_naming_bucket_and_key()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Repository(s3, accessKey: "WRONG") + Seed());

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var node = TestEngine.Node(wf, "generate");
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldStartWith($"failed to save outputs: artifact 'output': failed to save s3://{Bucket}/workflows/{wf.Name}/data.json: access denied");
        TestEngine.Node(wf, "process").Phase.ShouldBe(NodePhase.Omitted, "the consumer never runs without its input");
    }

    [Fact]
    public async Task A_repository_without_a_bucket_stops_the_workflow_before_any_step_naming_the_field()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: artifact-repositories
              annotations: {workflows.argoproj.io/default-artifact-repository: broken}
            data:
              broken: |
                s3:
                  endpoint: 127.0.0.1:9
                  insecure: true
                  keyFormt: x
            ---

            """ + Seed());

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        wf.Status.Message.ShouldBe("failed to find artifact repository: configmap \"artifact-repositories\" has no key \"default\"");
        wf.Status.Nodes.ShouldBeEmpty();

        // Without a ref, the namespace's default key is used, and its problems are named by field.
        var own = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: uses-namespace-default}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: alpine, command: [sh, -c, "true"]}
            """);
        own.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        own.Status.Message.ShouldBe("invalid artifact repository in configmap \"artifact-repositories\" key \"broken\": s3.keyFormt: unknown field \"keyFormt\"");
    }

    [Fact]
    public void The_seed_workflow_controller_configmap_is_read_as_a_service_wide_repository()
    {
        var repo = ArtifactRepositories.ReadFile(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Seeds", "19-s1-workflow-controller-configmap.yaml"));
        repo.S3!.Bucket.ShouldBe("my-argo-artifacts");
        repo.S3.Endpoint.ShouldBe("s3.amazonaws.com");
        repo.S3.Insecure.ShouldBe(false);
        repo.S3.SecretKeySecret!.Name.ShouldBe("s3-credentials");
        repo.S3.SecretKeySecret.Key.ShouldBe("secretKey");
    }

    [Fact]
    public void Repository_problems_are_reported_by_field()
    {
        Should.Throw<ArtifactException>(() => ArtifactRepositories.Parse("s3: {endpoint: 'minio:9000', insecure: true}"))
            .Message.ShouldBe("s3.bucket: missing: name the bucket artifacts are stored in");
        Should.Throw<ArtifactException>(() => ArtifactRepositories.Parse("gcs: {bucket: b}"))
            .Message.ShouldBe("gcs: not served here: only s3 (AWS or an S3-compatible server such as MinIO) repositories are supported; s3: missing: an artifact repository needs s3 with at least a bucket");
        Should.Throw<ArtifactException>(() => ArtifactRepositories.Parse("s3: {bucket: b, accessKeySecret: {name: c, key: a}}"))
            .Message.ShouldBe("s3.secretKeySecret: missing: set both accessKeySecret and secretKeySecret, or neither");
    }

    [Fact]
    public async Task Serve_refuses_an_artifact_repository_file_it_cannot_use_naming_file_and_field()
    {
        var dir = Directory.CreateTempSubdirectory("egw-repo-").FullName;
        var file = Path.Combine(dir, "repo.yaml");
        await File.WriteAllTextAsync(file, "s3: {endpoint: 'minio:9000', insecure: true}\n");
        var (code, _, stderr) = await EventGateway.Tests.Cli.CliTests.Egw("serve", "--data-dir", dir, "--port", "1", "--artifact-repository", file);
        code.ShouldBe(2);
        stderr.ShouldContain($"--artifact-repository: {file}: s3.bucket: missing: name the bucket artifacts are stored in");
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Artifact_fields_are_validated_with_their_paths()
    {
        var e = Should.Throw<EventGateway.Model.Manifests.ManifestException>(() => EventGateway.Server.Hosting.ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: bad-artifacts}
            spec:
              entrypoint: main
              artifactGC: {strategy: OnWorkflowSuccess}
              templates:
              - name: main
                container: {image: alpine, command: [sh, -c, "true"]}
                inputs:
                  artifacts:
                  - {name: in, path: /tmp/in, s3: {key: k, accessKeySecret: {name: c, key: a}}}
                outputs:
                  artifacts:
                  - {name: out, path: /tmp/out, archive: {none: {}, tar: {}}}
                  - {name: level, path: /tmp/level, archive: {tar: {compressionLevel: 12}}, artifactGC: {strategy: Sometimes}}
            """, "bad.yaml"));
        e.Message.ShouldContain("spec.artifactGC.strategy: 'OnWorkflowSuccess' is not one of OnWorkflowCompletion, OnWorkflowDeletion, Never");
        e.Message.ShouldContain("spec.templates[0].inputs.artifacts[0].s3.secretKeySecret: missing: set both accessKeySecret and secretKeySecret, or neither");
        e.Message.ShouldContain("spec.templates[0].outputs.artifacts[0].archive: set only one of tar, none, zip");
        e.Message.ShouldContain("spec.templates[0].outputs.artifacts[1].archive: tar.compressionLevel: '12' is not a gzip level (-1 for the default, 0 to 9)");
        e.Message.ShouldContain("spec.templates[0].outputs.artifacts[1].artifactGC.strategy: 'Sometimes' is not one of OnWorkflowCompletion, OnWorkflowDeletion, Never");
    }

    [Fact]
    public async Task Service_wide_repository_from_a_controller_configmap_file_serves_workflows_without_a_ref_and_inputs_load_by_key()
    {
        await using var s3 = await S3Server.StartAsync(Bucket);
        var file = Path.Combine(Directory.CreateTempSubdirectory("egw-repo-").FullName, "workflow-controller-configmap.yaml");
        await File.WriteAllTextAsync(file, $$$"""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: workflow-controller-configmap, namespace: argo}
            data:
              artifactRepository: |
                s3:
                  endpoint: {{{s3.Endpoint}}}
                  bucket: {{{Bucket}}}
                  insecure: true
                  keyFormat: "{{workflow.namespace}}/{{workflow.creationTimestamp.Y}}/{{workflow.name}}/{{pod.name}}"
                  accessKeySecret: {name: s3-cred, key: accessKey}
                  secretKeySecret: {name: s3-cred, key: secretKey}
            """);
        var repository = ArtifactRepositories.ReadFile(file);
        await s3.PutAsync(Bucket, "inbox/greeting.txt", "hello from the bucket\n");
        await using var t = await TestEngine.StartAsync(configure: o => o.ArtifactRepository = repository);
        var wf = await t.RunYamlAsync(Repository(s3).Split("---")[0] + """
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: service-wide}
            spec:
              entrypoint: main
              arguments:
                parameters: [{name: folder, value: inbox}]
              templates:
              - name: main
                inputs:
                  parameters: [{name: folder}]
                  artifacts:
                  - name: greeting
                    path: /tmp/greeting.txt
                    s3: {key: "{{inputs.parameters.folder}}/greeting.txt"}
                container: {image: alpine, command: [sh, -c, "cat /tmp/greeting.txt; cp /tmp/greeting.txt /tmp/out.txt"]}
                outputs:
                  artifacts:
                  - {name: out, path: /tmp/out.txt}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "service-wide")).ShouldBe("hello from the bucket\n");
        wf.Status.ArtifactRepositoryRef!.Default.ShouldBe(true);
        var year = wf.Metadata.CreationTimestamp!.Value.UtcDateTime.Year;
        var pod = TestEngine.Node(wf, "service-wide").Id;
        Untar((await ObjectAsync(s3, $"default/{year}/service-wide/{pod}/out.tgz"))!)["out.txt"].ShouldBe("hello from the bucket\n");
    }
}

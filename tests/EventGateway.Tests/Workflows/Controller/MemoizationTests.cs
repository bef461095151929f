using System.Text.Json.Nodes;
using EventGateway.Cli.Output;
using EventGateway.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Memoization;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// Template memoization through the real engine: entries in a ConfigMap in the store, real sandboxed steps.
/// A step proves it ran by writing a fresh random id as its output: a rerun could never reproduce it, so equal
/// outputs with no process (no logs) are the cache's doing.
/// </summary>
public sealed class MemoizationTests
{
    private const string Ns = "default";

    /// <summary>The advanced seed's WorkflowTemplate, with the step's sleep replaced by a random id.</summary>
    private const string BuildStep = """
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: build-step}
        spec:
          templates:
          - name: build
            inputs:
              parameters: [{name: app-name}]
            memoize:
              key: "build-{{inputs.parameters.app-name}}"
              maxAge: "1h"
              cache:
                configMap: {name: build-cache}
            container:
              image: alpine:3.20
              command: [sh, -c]
              args: ["echo 'Building {{inputs.parameters.app-name}}' && cat /proc/sys/kernel/random/uuid > /tmp/result.txt"]
            outputs:
              parameters:
              - name: build-id
                valueFrom: {path: /tmp/result.txt}
        """;

    /// <summary>The seed's empty, unlabelled cache ConfigMap.</summary>
    private const string BuildCache = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: build-cache}
        data: {}
        """;

    private static Workflow Pipeline(string app) => (Workflow)ManifestReader.Read($$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: pipeline-}
        spec:
          entrypoint: main
          templates:
          - name: main
            dag:
              tasks:
              - name: build-app
                templateRef: {name: build-step, template: build}
                arguments:
                  parameters: [{name: app-name, value: {{app}}}]
        """, "pipeline.yaml").Single();

    private static async Task<(Workflow Wf, NodeStatus Build)> Build(TestEngine t, string app = "my-service")
    {
        var wf = await t.RunAsync(Pipeline(app), []);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        return (wf, TestEngine.Node(wf, "build-app"));
    }

    private static string BuildId(NodeStatus n) => n.Outputs!.Parameters!.Single(p => p.Name == "build-id").Value!;

    /// <summary>Whether the executor ever saw the step: a process leaves its stdout behind.</summary>
    private static bool Ran(TestEngine t, Workflow wf, NodeStatus n) =>
        File.Exists(t.Engine.Executor.LogPath(new StepKey(wf.NamespaceOrDefault, wf.Name, n.Id), "stdout"));

    private static Task<ConfigMap?> Cache(TestEngine t, string name = "build-cache") => t.Engine.Store.GetAsync<ConfigMap>(Ns, name);

    private static async Task<TestEngine> Start(TimeProvider? time = null, string extra = BuildCache)
    {
        var t = await TestEngine.StartAsync(time: time);
        await t.Engine.ApplyAsync(ManifestReader.Read(BuildStep + (extra.Length > 0 ? "\n---\n" + extra : ""), "setup.yaml"));
        return t;
    }

    [Fact]
    public async Task First_run_executes_and_stores_its_outputs_and_the_second_run_is_a_hit_that_runs_nothing()
    {
        await using var t = await Start();

        var (first, build1) = await Build(t);
        Ran(t, first, build1).ShouldBeTrue();
        t.Logs(first, build1).ShouldContain("Building my-service");
        BuildId(build1).ShouldMatch("^[0-9a-f-]{36}$");
        build1.MemoizationStatus.ShouldNotBeNull();
        (build1.MemoizationStatus.Hit, build1.MemoizationStatus.Key, build1.MemoizationStatus.CacheName).ShouldBe((false, "build-my-service", "build-cache"));

        // The entry, in Argo's format, in the seed's ConfigMap, which is now labelled as a cache.
        var cm = (await Cache(t))!;
        cm.Metadata.Labels![MemoCache.TypeLabel].ShouldBe("Cache");
        var entry = JsonNode.Parse(cm.Data!["build-my-service"])!;
        entry["nodeID"]!.GetValue<string>().ShouldBe(build1.Id);
        entry["outputs"]!["parameters"]![0]!["value"]!.GetValue<string>().ShouldBe(BuildId(build1));
        entry["creationTimestamp"].ShouldNotBeNull();
        entry["lastHitTimestamp"].ShouldNotBeNull();

        var (second, build2) = await Build(t);
        second.Name.ShouldNotBe(first.Name);
        build2.Phase.ShouldBe(NodePhase.Succeeded);
        Ran(t, second, build2).ShouldBeFalse("a cache hit starts no process");
        BuildId(build2).ShouldBe(BuildId(build1));
        (build2.MemoizationStatus!.Hit, build2.MemoizationStatus.Key, build2.MemoizationStatus.CacheName).ShouldBe((true, "build-my-service", "build-cache"));

        WorkflowPrinter.Tree(second, DateTimeOffset.UtcNow).ShouldContain("build-app (memoized)");
        WorkflowPrinter.Tree(first, DateTimeOffset.UtcNow).ShouldNotContain("(memoized)");
    }

    [Fact]
    public async Task An_entry_older_than_maxAge_is_a_miss_and_the_step_runs_again()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var t = await Start(time);

        var (_, first) = await Build(t);
        time.Advance(TimeSpan.FromMinutes(59));
        var (wf2, within) = await Build(t);
        within.MemoizationStatus!.Hit.ShouldBeTrue();
        Ran(t, wf2, within).ShouldBeFalse();
        BuildId(within).ShouldBe(BuildId(first));

        time.Advance(TimeSpan.FromMinutes(2));
        var (wf3, expired) = await Build(t);
        expired.MemoizationStatus!.Hit.ShouldBeFalse();
        Ran(t, wf3, expired).ShouldBeTrue();
        BuildId(expired).ShouldNotBe(BuildId(first));

        // The fresh run replaced the entry: it is live for another hour from now.
        var entry = JsonNode.Parse((await Cache(t))!.Data!["build-my-service"])!;
        entry["nodeID"]!.GetValue<string>().ShouldBe(expired.Id);
        time.Advance(TimeSpan.FromMinutes(59));
        var (_, again) = await Build(t);
        (again.MemoizationStatus!.Hit, BuildId(again)).ShouldBe((true, BuildId(expired)));
    }

    [Fact]
    public async Task Different_keys_miss_and_each_gets_its_own_entry()
    {
        await using var t = await Start();
        var (wfA, a) = await Build(t, "alpha");
        var (wfB, b) = await Build(t, "beta");
        (a.MemoizationStatus!.Hit, b.MemoizationStatus!.Hit).ShouldBe((false, false));
        (Ran(t, wfA, a), Ran(t, wfB, b)).ShouldBe((true, true));
        BuildId(a).ShouldNotBe(BuildId(b));
        (await Cache(t))!.Data!.Keys.Order().ShouldBe(["build-alpha", "build-beta"]);
    }

    [Fact]
    public async Task Concurrent_writers_into_one_cache_ConfigMap_all_land_their_entries()
    {
        await using var t = await Start(extra: "");
        var apps = Enumerable.Range(0, 8).Select(i => $"app{i}").ToList();
        var runs = await Task.WhenAll(apps.Select(app => Build(t, app)));
        foreach (var (_, build) in runs) (build.Phase, build.Message, build.MemoizationStatus!.Hit).ShouldBe((NodePhase.Succeeded, null, false));
        var cm = (await Cache(t))!;
        cm.Data!.Keys.Order().ShouldBe(apps.Select(a => $"build-{a}"));
        foreach (var (_, build) in runs)
            JsonNode.Parse(cm.Data[$"build-{build.Inputs!.Parameters!.Single().Value}"])!["nodeID"]!.GetValue<string>().ShouldBe(build.Id);
    }

    /// <summary>The real store, with a writer elsewhere that changes a ConfigMap between each read and write of ours.</summary>
    private sealed class MeddlingStore(IResourceStore inner, int times) : IResourceStore
    {
        public int Meddled { get; private set; }

        public async Task<T> UpdateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
        {
            if (resource is ConfigMap mine && Meddled < times)
            {
                var theirs = (await inner.GetAsync<ConfigMap>(mine.NamespaceOrDefault, mine.Name, ct))!;
                (theirs.Data ??= [])[$"outside-{Meddled++}"] = "x";
                await inner.UpdateAsync(theirs, ct);
            }
            return await inner.UpdateAsync(resource, ct);
        }

        public Task<T?> GetAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.GetAsync<T>(@namespace, name, ct);
        public Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace = null, CancellationToken ct = default) where T : Resource => inner.ListAsync<T>(@namespace, ct);
        public Task<T> CreateAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.CreateAsync(resource, ct);
        public Task<T> ApplyAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.ApplyAsync(resource, ct);
        public Task<IReadOnlyList<Resource>> ApplyAllAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default) => inner.ApplyAllAsync(resources, ct);
        public Task<bool> DeleteAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.DeleteAsync<T>(@namespace, name, ct);
        public IDisposable Watch(string kind, Action<ResourceChange> onChange) => inner.Watch(kind, onChange);
    }

    private const string LabelledCache = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: build-cache
          labels: {workflows.argoproj.io/configmap-type: Cache}
        """;

    private static (PodRequest, PodResult) SucceededStep(string key)
    {
        var template = new Template { Name = "build", Memoize = new Memoize { Key = key, Cache = new MemoizeCache { ConfigMap = new KeySelector { Name = "build-cache" } } } };
        var now = DateTimeOffset.UtcNow;
        var outputs = new Outputs { Parameters = [new Parameter { Name = "build-id", Value = "42" }], ExitCode = "0" };
        return (new PodRequest("wf-1", "wf.build", template, [], null), new PodResult("wf-1", NodePhase.Succeeded, null, 0, outputs, now, now));
    }

    [Fact]
    public async Task A_write_that_loses_to_a_writer_elsewhere_reads_again_and_keeps_their_change()
    {
        await using var t = await Start(extra: LabelledCache);
        var store = new MeddlingStore(t.Engine.Store, times: 3);
        var (pod, result) = SucceededStep("k");
        var recorded = await new MemoCache(store, TimeProvider.System, NullLogger.Instance).RecordAsync(Ns, pod, result, CancellationToken.None);
        (recorded.Phase, recorded.Message).ShouldBe((NodePhase.Succeeded, null));
        store.Meddled.ShouldBe(3);
        var cm = (await Cache(t))!;
        cm.Data!.Keys.Order().ShouldBe(["k", "outside-0", "outside-1", "outside-2"]);
        JsonNode.Parse(cm.Data["k"])!["outputs"]!["parameters"]![0]!["value"]!.GetValue<string>().ShouldBe("42");
    }

    [Fact]
    public async Task A_cache_that_keeps_changing_is_given_up_on_after_a_bounded_number_of_attempts_and_the_step_says_so()
    {
        await using var t = await Start(extra: LabelledCache);
        var store = new MeddlingStore(t.Engine.Store, times: int.MaxValue);
        var (pod, result) = SucceededStep("k");
        var recorded = await new MemoCache(store, TimeProvider.System, NullLogger.Instance).RecordAsync(Ns, pod, result, CancellationToken.None);
        recorded.Phase.ShouldBe(NodePhase.Succeeded);
        recorded.Message.ShouldBe("not memoized: ConfigMap 'build-cache' kept changing while the entry was written (8 attempts)");
        store.Meddled.ShouldBe(8);
        (await Cache(t))!.Data!.ContainsKey("k").ShouldBeFalse();
    }

    [Fact]
    public async Task The_cache_ConfigMap_is_created_labelled_when_it_does_not_exist()
    {
        await using var t = await Start(extra: "");
        (await Cache(t)).ShouldBeNull();
        var (_, build) = await Build(t);
        var cm = (await Cache(t)).ShouldNotBeNull();
        cm.Metadata.Labels![MemoCache.TypeLabel].ShouldBe("Cache");
        cm.Data!.Keys.ShouldBe(["build-my-service"]);
        JsonNode.Parse(cm.Data["build-my-service"])!["nodeID"]!.GetValue<string>().ShouldBe(build.Id);
    }

    private const string Flaky = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: flaky-}
        spec:
          entrypoint: main
          templates:
          - name: main
            memoize:
              key: flaky
              cache: {configMap: {name: flaky-cache}}
            container:
              image: alpine
              command: [sh, -c, "cat /proc/sys/kernel/random/uuid > /tmp/out.txt; exit 3"]
            outputs:
              parameters: [{name: out, valueFrom: {path: /tmp/out.txt}}]
        """;

    [Fact]
    public async Task A_failed_step_is_not_cached_and_runs_again_next_time()
    {
        await using var t = await Start();
        foreach (var _ in new[] { 1, 2 })
        {
            var wf = await t.RunYamlAsync(Flaky);
            wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
            var node = wf.Status.Nodes!.Values.Single();
            node.Phase.ShouldBe(NodePhase.Failed);
            node.MemoizationStatus!.Hit.ShouldBeFalse();
            Ran(t, wf, node).ShouldBeTrue();
            (await Cache(t, "flaky-cache")).ShouldBeNull("a failed step stores nothing, so the cache is never created");
        }
    }

    private const string Big = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: big-}
        spec:
          entrypoint: main
          templates:
          - name: main
            memoize:
              key: big
              cache: {configMap: {name: big-cache}}
            container:
              image: alpine
              command: [sh, -c, "head -c SIZE /dev/zero | tr '\\0' x > /tmp/out.txt"]
            outputs:
              parameters: [{name: out, valueFrom: {path: /tmp/out.txt}}]
        """;

    [Fact]
    public async Task Outputs_over_the_1_MiB_ConfigMap_limit_are_not_cached_the_step_still_succeeds_and_says_so()
    {
        await using var t = await Start();
        var yaml = Big.Replace("SIZE", "1100000");
        var wf = await t.RunYamlAsync(yaml);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var node = wf.Status.Nodes!.Values.Single();
        node.Phase.ShouldBe(NodePhase.Succeeded);
        node.Outputs!.Parameters!.Single().Value!.Length.ShouldBe(1100000);
        node.MemoizationStatus!.Hit.ShouldBeFalse();
        node.Message.ShouldNotBeNull();
        node.Message.ShouldStartWith("not memoized: the entry for key 'big'");
        node.Message.ShouldContain("over the 1 MiB (1048576 bytes) ConfigMap limit");
        WorkflowPrinter.Tree(wf, DateTimeOffset.UtcNow).ShouldContain("not memoized:");
        // Nothing stored, not even an empty ConfigMap, and the next run executes again.
        (await Cache(t, "big-cache")).ShouldBeNull();
        var again = await t.RunYamlAsync(yaml);
        Ran(t, again, again.Status!.Nodes!.Values.Single()).ShouldBeTrue();
    }

    [Fact]
    public async Task The_limit_is_on_the_whole_ConfigMap_so_an_entry_that_fits_alone_is_refused_when_the_cache_is_nearly_full()
    {
        var filler = new string('f', 1_000_000);
        await using var t = await Start(extra: $$"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: big-cache
              labels: {workflows.argoproj.io/configmap-type: Cache}
            data:
              other: {{filler}}
            """);
        var wf = await t.RunYamlAsync(Big.Replace("SIZE", "60000"));
        var node = wf.Status!.Nodes!.Values.Single();
        node.Phase.ShouldBe(NodePhase.Succeeded);
        node.Message.ShouldNotBeNull();
        node.Message.ShouldContain("would make ConfigMap 'big-cache'");
        var cm = (await Cache(t, "big-cache"))!;
        cm.Data!.Keys.ShouldBe(["other"]);
        cm.Data["other"].Length.ShouldBe(filler.Length);

        // A smaller output fits beside it.
        var small = await t.RunYamlAsync(Big.Replace("SIZE", "1000"));
        small.Status!.Nodes!.Values.Single().Message.ShouldBeNull();
        (await Cache(t, "big-cache"))!.Data!.Keys.Order().ShouldBe(["big", "other"]);
    }

    [Fact]
    public async Task An_unlabelled_ConfigMap_with_data_is_never_used_as_a_cache()
    {
        await using var t = await Start(extra: """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: build-cache}
            data: {database-url: "postgres://prod"}
            """);
        var wf = await t.RunAsync(Pipeline("my-service"), []);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var build = TestEngine.Node(wf, "build-app");
        build.Phase.ShouldBe(NodePhase.Error);
        build.Message.ShouldBe("memoization ConfigMap 'build-cache' does not have the label workflows.argoproj.io/configmap-type=Cache, refusing to use it");
        Ran(t, wf, build).ShouldBeFalse();
        var cm = (await Cache(t))!;
        cm.Data.ShouldBe(new Dictionary<string, string> { ["database-url"] = "postgres://prod" });
        cm.Metadata.Labels.ShouldBeNull();
    }

    [Fact]
    public async Task A_key_that_renders_to_an_invalid_cache_key_errors_the_step_before_it_runs()
    {
        await using var t = await Start();
        var wf = await t.RunAsync(Pipeline("my_service"), []);
        var build = TestEngine.Node(wf, "build-app");
        build.Phase.ShouldBe(NodePhase.Error);
        build.Message.ShouldBe($"invalid cache key 'build-my_service': {MemoCache.KeyRule}");
        Ran(t, wf, build).ShouldBeFalse();
    }

    [Fact]
    public async Task A_malformed_entry_errors_the_step_as_in_Argo()
    {
        await using var t = await Start(extra: """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: build-cache
              labels: {workflows.argoproj.io/configmap-type: Cache}
            data: {build-my-service: "not json"}
            """);
        var wf = await t.RunAsync(Pipeline("my-service"), []);
        var build = TestEngine.Node(wf, "build-app");
        build.Phase.ShouldBe(NodePhase.Error);
        build.Message.ShouldNotBeNull();
        build.Message.ShouldStartWith("malformed cache entry 'build-my-service' in ConfigMap 'build-cache'");
    }

    // ---- validation at load ----

    private static IReadOnlyList<ManifestError> Check(string memoize, string body = "container: {image: alpine, command: [echo]}")
    {
        try
        {
            ManifestReader.Read($$"""
                apiVersion: argoproj.io/v1alpha1
                kind: Workflow
                metadata: {name: wf}
                spec:
                  entrypoint: main
                  templates:
                  - name: main
                    inputs: {parameters: [{name: p, value: x}]}
                    {{memoize}}
                    {{body}}
                """, "v.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors;
        }
    }

    private static (string, string)[] Errors(IReadOnlyList<ManifestError> errors) => errors.Select(e => (e.Path, e.Reason)).ToArray();

    [Fact]
    public void A_complete_memoize_is_accepted()
    {
        Check("memoize: {key: \"k-{{inputs.parameters.p}}\", maxAge: 10m, cache: {configMap: {name: c}}}").ShouldBeEmpty();
        Check("memoize: {key: k, cache: {configMap: {name: c}}}").ShouldBeEmpty();
        Check("memoize: {key: k, cache: {configMap: {name: c}}}", "script: {image: alpine, source: echo}").ShouldBeEmpty();
    }

    [Fact]
    public void Memoize_without_key_or_cache_name_or_with_a_bad_maxAge_is_refused_with_field_paths()
    {
        Errors(Check("memoize: {maxAge: 1h, cache: {configMap: {name: c}}}"))
            .ShouldBe([("spec.templates[0].memoize.key", "missing: memoize needs a key, usually built from the template's inputs")]);
        Errors(Check("memoize: {key: k}"))
            .ShouldBe([("spec.templates[0].memoize.cache.configMap.name", "missing: name the ConfigMap that holds the cache")]);
        Errors(Check("memoize: {key: k, cache: {configMap: {key: x}}}"))
            .ShouldBe([("spec.templates[0].memoize.cache.configMap.name", "missing: name the ConfigMap that holds the cache")]);
        Errors(Check("memoize: {key: k, maxAge: soon, cache: {configMap: {name: c}}}"))
            .ShouldBe([("spec.templates[0].memoize.maxAge", "'soon' is not a duration like 180s or 24h")]);
    }

    [Fact]
    public void Memoize_with_an_invalid_key_or_cache_name_or_an_unknown_input_is_refused()
    {
        Errors(Check("memoize: {key: a_b, cache: {configMap: {name: c}}}"))
            .ShouldBe([("spec.templates[0].memoize.key", $"'a_b' is not a valid cache key: {MemoCache.KeyRule}")]);
        Errors(Check("memoize: {key: k, cache: {configMap: {name: Bad_Name}}}"))
            .ShouldBe([("spec.templates[0].memoize.cache.configMap.name", "'Bad_Name' is not a valid ConfigMap name")]);
        Errors(Check("memoize: {key: \"{{inputs.parameters.nope}}\", cache: {configMap: {name: c}}}"))
            .ShouldBe([("spec.templates[0]", "template 'main' refers to {{inputs.parameters.nope}} but declares no such input")]);
    }

    [Fact]
    public void Memoize_on_a_steps_or_dag_template_is_refused_at_load()
    {
        Errors(Check("memoize: {key: k, cache: {configMap: {name: c}}}", "steps: [[{name: s, template: main}]]"))
            .ShouldBe([("spec.templates[0].memoize", "memoize is supported on container and script templates only, not on steps template 'main'")]);
        Errors(Check("memoize: {key: k, cache: {configMap: {name: c}}}", "dag: {tasks: [{name: a, template: main}]}"))
            .ShouldBe([("spec.templates[0].memoize", "memoize is supported on container and script templates only, not on dag template 'main'")]);
    }
}

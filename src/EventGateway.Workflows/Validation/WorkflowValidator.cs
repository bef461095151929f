using System.Text.RegularExpressions;
using EventGateway.Languages.Depends;
using EventGateway.Languages.Expr;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Memoization;
using EventGateway.Workflows.Retention;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Workflows.Validation;

/// <summary>
/// The spec checks of Workflow, WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow: references, graph
/// shape, required inputs, enums. Reports every problem through <c>fail(path, reason)</c>.
/// </summary>
public sealed partial class WorkflowValidator : IKindValidator
{
    public static readonly string[] RetryPolicies = ["Always", "OnFailure", "OnError", "OnTransientError"];

    public static WorkflowValidator Instance { get; } = new();

    /// <summary>Metadata and spec checks of the workflow kinds, for the Workflows project's own readers.</summary>
    public static ManifestValidator Manifests { get; } = new([Instance]);

    public IReadOnlyCollection<Type> Kinds { get; } = [typeof(Workflow), typeof(WorkflowTemplate), typeof(ClusterWorkflowTemplate), typeof(CronWorkflow)];

    public void Validate(Resource resource, Action<string, string> fail)
    {
        switch (resource)
        {
            case Workflow wf:
                ValidateSpec(wf.Spec, "spec", requireEntrypoint: true, fail);
                break;
            case WorkflowTemplate t:
                ValidateSpec(t.Spec, "spec", requireEntrypoint: false, fail);
                break;
            case ClusterWorkflowTemplate t:
                ValidateSpec(t.Spec, "spec", requireEntrypoint: false, fail);
                break;
            case CronWorkflow c:
                ValidateCron(c, fail);
                break;
        }
    }

    private static void ValidateCron(CronWorkflow c, Action<string, string> fail)
    {
        var s = c.Spec;
        CronSchedule.TryParse(s, TimeZoneInfo.Utc, fail);
        if (s.ConcurrencyPolicy is not null and not ("Allow" or "Forbid" or "Replace"))
            fail("spec.concurrencyPolicy", $"'{s.ConcurrencyPolicy}' is not one of Allow, Forbid, Replace");
        if (s.StartingDeadlineSeconds is < 0) fail("spec.startingDeadlineSeconds", "must not be negative");
        if (s.SuccessfulJobsHistoryLimit is < 0) fail("spec.successfulJobsHistoryLimit", "must not be negative");
        if (s.FailedJobsHistoryLimit is < 0) fail("spec.failedJobsHistoryLimit", "must not be negative");
        ValidateSpec(s.WorkflowSpec, "spec.workflowSpec", requireEntrypoint: true, fail);
    }

    public static void ValidateSpec(WorkflowSpec spec, string at, bool requireEntrypoint, Action<string, string> fail)
    {
        RetentionPolicy.Validate(spec, at, fail);
        ValidateMetrics(spec, at, fail);
        if (spec.WorkflowTemplateRef is { } wtr)
        {
            if (string.IsNullOrEmpty(wtr.Name)) fail($"{at}.workflowTemplateRef.name", "missing: name the WorkflowTemplate to run");
            return; // the referenced template is checked when the workflow is submitted
        }

        var templates = spec.Templates ?? [];
        var byName = new Dictionary<string, Template>(StringComparer.Ordinal);
        for (var i = 0; i < templates.Count; i++)
        {
            var t = templates[i];
            if (string.IsNullOrEmpty(t.Name)) fail($"{at}.templates[{i}].name", "missing: every template needs a name");
            else if (!byName.TryAdd(t.Name, t)) fail($"{at}.templates[{i}].name", $"duplicate template name '{t.Name}'");
        }

        if (templates.Count == 0) fail($"{at}.templates", "missing: a workflow needs at least one template");
        if (string.IsNullOrEmpty(spec.Entrypoint))
        {
            if (requireEntrypoint) fail($"{at}.entrypoint", "missing: name the template to start with");
        }
        else if (!byName.ContainsKey(spec.Entrypoint) && !spec.Entrypoint.Contains("{{", StringComparison.Ordinal))
            fail($"{at}.entrypoint", $"template '{spec.Entrypoint}' is not defined in {at}.templates");
        if (spec.OnExit is { Length: > 0 } onExit && !byName.ContainsKey(onExit))
            fail($"{at}.onExit", $"template '{onExit}' is not defined in {at}.templates");
        if (spec.Parallelism is < 1) fail($"{at}.parallelism", "must be at least 1");
        if (spec.ActiveDeadlineSeconds is < 0) fail($"{at}.activeDeadlineSeconds", "must not be negative");
        ValidateRetry(spec.RetryStrategy, $"{at}.retryStrategy", fail);
        ValidateRetry(spec.TemplateDefaults?.RetryStrategy, $"{at}.templateDefaults.retryStrategy", fail);
        ValidateTimeout(spec.TemplateDefaults?.Timeout, $"{at}.templateDefaults.timeout", fail);
        ValidateSynchronization(spec.Synchronization, $"{at}.synchronization", fail);
        ValidateParameters(spec.Arguments?.Parameters, $"{at}.arguments.parameters", fail);
        ValidateArtifacts(spec, at, fail);
        ValidateHooks(spec.Hooks, spec.OnExit, at, byName, workflowLevel: true, fail);
        RefuseUnsupported(spec, at, fail);

        for (var i = 0; i < templates.Count; i++)
            ValidateTemplate(templates[i], $"{at}.templates[{i}]", byName, fail, spec.TemplateDefaults);
        for (var i = 0; i < templates.Count; i++)
            if (templates[i].ContainerSet is { } set) ValidateContainerSet(templates[i], set, spec.Volumes, $"{at}.templates[{i}]", fail);
            else ValidateVolumeMounts(templates[i], spec, $"{at}.templates[{i}]", declaredHere: requireEntrypoint, fail);

        // The entrypoint's required inputs come from the workflow's arguments. A WorkflowTemplate's
        // (requireEntrypoint: false) may come from the workflow made from it or referring to it, as in
        // Argo: they are checked when that workflow is submitted.
        if (requireEntrypoint && spec.Entrypoint is { } ep && byName.TryGetValue(ep, out var entry))
            CheckRequiredInputs(entry, spec.Arguments, $"{at}.arguments", fail, argumentsMayBeLate: true);
    }

    /// <summary>A template's timeout: a duration, or a tag that renders to one when the node runs.</summary>
    private static void ValidateTimeout(string? timeout, string at, Action<string, string> fail)
    {
        if (timeout is { Length: > 0 } && !timeout.Contains("{{", StringComparison.Ordinal) && !Durations.TryParse(timeout, out _))
            fail(at, $"'{timeout}' is not a duration like 30s, 5m or 1h");
    }

    /// <param name="defaults">spec.templateDefaults, which may supply a container's or script's image (as in Argo).</param>
    private static void ValidateTemplate(Template t, string at, Dictionary<string, Template> byName, Action<string, string> fail, Template? defaults = null)
    {
        switch (t.TypeCount)
        {
            case 0: fail(at, $"template '{t.Name}' does nothing: set one of container, script, steps, dag, suspend, resource, http, containerSet, data"); break;
            case > 1: fail(at, $"template '{t.Name}' sets more than one of container, script, steps, dag, suspend, resource, http, containerSet, data"); break;
        }
        if (t.Parallelism is < 1) fail($"{at}.parallelism", "must be at least 1");
        ValidateTimeout(t.Timeout, $"{at}.timeout", fail);
        ValidateRetry(t.RetryStrategy, $"{at}.retryStrategy", fail);
        ValidateSynchronization(t.Synchronization, $"{at}.synchronization", fail);
        ValidateMemoize(t, $"{at}.memoize", fail);
        ValidateParameters(t.Inputs?.Parameters, $"{at}.inputs.parameters", fail);
        if (t.Container is { } c && string.IsNullOrEmpty(c.Image) && string.IsNullOrEmpty(defaults?.Container?.Image)) fail($"{at}.container.image", "missing: a container needs an image");
        if (t.Script is { } s)
        {
            if (string.IsNullOrEmpty(s.Image) && string.IsNullOrEmpty(defaults?.Script?.Image)) fail($"{at}.script.image", "missing: a script needs an image");
            if (s.Source is null) fail($"{at}.script.source", "missing: a script needs a source");
        }
        if (t.Outputs?.Parameters is { } outs)
            for (var i = 0; i < outs.Count; i++)
                if (outs[i].ValueFrom is null && outs[i].Value is null)
                    fail($"{at}.outputs.parameters[{i}].valueFrom", $"missing: output parameter '{outs[i].Name}' needs valueFrom");
        CheckInputReferences(t, at, fail);
        ValidateHttpAndResource(t, at, fail);
        ValidateHooks(t.Hooks, null, at, byName, workflowLevel: false, fail);
        RefuseUnsupported(t, at, fail);

        if (t.Steps is { } groups)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var g = 0; g < groups.Count; g++)
                for (var i = 0; i < groups[g].Count; i++)
                {
                    var step = groups[g][i];
                    var sat = $"{at}.steps[{g}][{i}]";
                    if (string.IsNullOrEmpty(step.Name)) fail($"{sat}.name", "missing: every step needs a name");
                    else if (!seen.Add(step.Name)) fail($"{sat}.name", $"duplicate step name '{step.Name}' in template '{t.Name}'");
                    ValidateCall(step, sat, byName, fail);
                }
        }

        if (t.Dag is { } dag) ValidateDag(t, dag, at, byName, fail);
    }

    private static void ValidateDag(Template t, DagTemplate dag, string at, Dictionary<string, Template> byName, Action<string, string> fail)
    {
        var tasks = new Dictionary<string, (DagTask Task, int Index)>(StringComparer.Ordinal);
        for (var i = 0; i < dag.Tasks.Count; i++)
        {
            var task = dag.Tasks[i];
            var tat = $"{at}.dag.tasks[{i}]";
            if (string.IsNullOrEmpty(task.Name)) fail($"{tat}.name", "missing: every task needs a name");
            else if (!tasks.TryAdd(task.Name, (task, i))) fail($"{tat}.name", $"duplicate task name '{task.Name}' in template '{t.Name}'");
            ValidateCall(task, tat, byName, fail);
        }

        var edges = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal);
        foreach (var (name, (task, i)) in tasks)
        {
            var tat = $"{at}.dag.tasks[{i}]";
            IReadOnlyCollection<string> deps = [];
            if (task.Depends is not null && task.Dependencies is not null)
                fail($"{tat}.depends", "set either depends or dependencies, not both");
            if (task.Depends is { } text)
            {
                try { deps = DependsExpression.Parse(text).TaskNames.ToList(); }
                catch (ExpressionException e) { fail($"{tat}.depends", $"cannot parse '{text}': {e.Message}"); }
            }
            else if (task.Dependencies is { } list) deps = list;
            foreach (var d in deps)
                if (!tasks.ContainsKey(d)) fail($"{tat}.{(task.Depends is null ? "dependencies" : "depends")}", $"task '{d}' is not defined in template '{t.Name}'");
            edges[name] = deps;
        }
        // A target given as a parameter or expression is checked when the DAG runs.
        if (dag.Target is { } target && !target.Contains("{{", StringComparison.Ordinal))
            foreach (var name in target.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (!tasks.ContainsKey(name)) fail($"{at}.dag.target", $"task '{name}' is not defined in template '{t.Name}'");

        if (FindCycle(edges) is { } cycle)
            fail($"{at}.dag.tasks", $"dependency cycle: {string.Join(" -> ", cycle)}");
    }

    /// <summary>Depth-first search with colours; returns the first cycle as a closed path.</summary>
    internal static List<string>? FindCycle(IReadOnlyDictionary<string, IReadOnlyCollection<string>> edges)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on stack, 2 = done
        var stack = new List<string>();
        List<string>? Visit(string n)
        {
            state[n] = 1;
            stack.Add(n);
            foreach (var d in edges.GetValueOrDefault(n) ?? [])
            {
                if (!edges.ContainsKey(d)) continue;
                var s = state.GetValueOrDefault(d);
                if (s == 1) return [.. stack[stack.IndexOf(d)..], d];
                if (s == 0 && Visit(d) is { } c) return c;
            }
            stack.RemoveAt(stack.Count - 1);
            state[n] = 2;
            return null;
        }
        foreach (var n in edges.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(n) == 0 && Visit(n) is { } cycle) return cycle;
        return null;
    }

    private static void ValidateCall(TemplateCall call, string at, Dictionary<string, Template> byName, Action<string, string> fail)
    {
        var targets = (call.Template is null ? 0 : 1) + (call.TemplateRef is null ? 0 : 1) + (call.Inline is null ? 0 : 1);
        if (targets == 0) fail($"{at}.template", $"missing: '{call.Name}' must name a template, templateRef or inline template");
        if (targets > 1) fail($"{at}.template", $"'{call.Name}' sets more than one of template, templateRef, inline");
        if (call.Template is { } name && !name.Contains("{{", StringComparison.Ordinal))
        {
            if (!byName.TryGetValue(name, out var target)) fail($"{at}.template", $"template '{name}' is not defined");
            else CheckRequiredInputs(target, call.Arguments, $"{at}.arguments", fail, argumentsMayBeLate: false);
        }
        if (call.Inline is { } inline) ValidateTemplate(inline, $"{at}.inline", byName, fail);
        if (call.TemplateRef is { } tr && (string.IsNullOrEmpty(tr.Name) || string.IsNullOrEmpty(tr.Template)))
            fail($"{at}.templateRef", "templateRef needs both name and template");
        var loops = (call.WithItems is null ? 0 : 1) + (call.WithParam is null ? 0 : 1) + (call.WithSequence is null ? 0 : 1);
        if (loops > 1) fail(at, "set only one of withItems, withParam, withSequence");
        if (call.WithSequence is { Count: not null, End: not null }) fail($"{at}.withSequence", "set either count or end, not both");
        if (call.OnExit is { Length: > 0 } onExit && !byName.ContainsKey(onExit)) fail($"{at}.onExit", $"template '{onExit}' is not defined");
        ValidateHooks(call.Hooks, call.OnExit, at, byName, workflowLevel: false, fail);
        ValidateParameters(call.Arguments?.Parameters, $"{at}.arguments.parameters", fail, valuesRequired: false);
    }

    /// <summary>An input with no value, default or valueFrom must be supplied by the caller's arguments.</summary>
    private static void CheckRequiredInputs(Template target, Arguments? args, string at, Action<string, string> fail, bool argumentsMayBeLate)
    {
        foreach (var p in target.Inputs?.Parameters ?? [])
        {
            if (p.Value is not null || p.Default is not null || p.ValueFrom is not null) continue;
            var supplied = args?.Parameters?.FirstOrDefault(a => a.Name == p.Name);
            // Workflow arguments may be declared without a value and filled in by -p at submission.
            if (supplied is null)
                fail($"{at}.parameters", $"input parameter '{p.Name}' of template '{target.Name}' has no value, default or argument");
            else if (!argumentsMayBeLate && supplied.Value is null && supplied.ValueFrom is null)
                fail($"{at}.parameters", $"argument '{p.Name}' for template '{target.Name}' has no value");
        }
        foreach (var a in target.Inputs?.Artifacts ?? [])
        {
            if (a.Optional == true || a.From is not null || a.Raw is not null || a.S3 is not null || a.Http is not null || a.Git is not null || a.Local is not null) continue;
            if (args?.Artifacts?.Any(x => x.Name == a.Name) != true)
                fail($"{at}.artifacts", $"input artifact '{a.Name}' of template '{target.Name}' is not supplied");
        }
    }

    private static void ValidateParameters(List<Parameter>? ps, string at, Action<string, string> fail, bool valuesRequired = false)
    {
        if (ps is null) return;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ps.Count; i++)
        {
            var p = ps[i];
            if (string.IsNullOrEmpty(p.Name)) { fail($"{at}[{i}].name", "missing: every parameter needs a name"); continue; }
            if (!names.Add(p.Name)) fail($"{at}[{i}].name", $"duplicate parameter '{p.Name}'");
            if (valuesRequired && p.Value is null && p.ValueFrom is null) fail($"{at}[{i}].value", $"missing: parameter '{p.Name}' needs a value");
            if (p.Enum is { Count: > 0 } allowed)
            {
                var v = p.Value ?? p.Default;
                if (v is not null && !v.Contains("{{", StringComparison.Ordinal) && !allowed.Contains(v))
                    fail($"{at}[{i}].{(p.Value is null ? "default" : "value")}", $"'{v}' is not one of the allowed values [{string.Join(", ", allowed)}]");
            }
        }
    }

    private static void ValidateRetry(RetryStrategy? r, string at, Action<string, string> fail)
    {
        if (r is null) return;
        if (r.RetryPolicy is { } policy && !RetryPolicies.Contains(policy))
            fail($"{at}.retryPolicy", $"'{policy}' is not one of {string.Join(", ", RetryPolicies)}");
        if (r.Limit is { } limit && !limit.Contains("{{", StringComparison.Ordinal) && (!int.TryParse(limit, out var n) || n < 0))
            fail($"{at}.limit", $"'{limit}' is not a non-negative integer");
        if (r.Backoff?.Duration is { } d && !d.Contains("{{", StringComparison.Ordinal) && !Durations.TryParse(d, out _))
            fail($"{at}.backoff.duration", $"'{d}' is not a duration like 10s, 2m or 1h");
        if (r.Backoff?.MaxDuration is { } md && !md.Contains("{{", StringComparison.Ordinal) && !Durations.TryParse(md, out _))
            fail($"{at}.backoff.maxDuration", $"'{md}' is not a duration like 10s, 2m or 1h");
    }

    private static void ValidateMemoize(Template t, string at, Action<string, string> fail)
    {
        if (t.Memoize is not { } m) return;
        // Steps and DAGs are expanded by the operator itself; see MemoCache for why they are not memoized.
        if (t.Type is not (TemplateType.Container or TemplateType.Script) && t.TypeCount == 1)
            fail(at, $"memoize is supported on container and script templates only, not on {t.Type.ToString().ToLowerInvariant()} template '{t.Name}'");
        if (string.IsNullOrEmpty(m.Key)) fail($"{at}.key", "missing: memoize needs a key, usually built from the template's inputs");
        else if (!m.Key.Contains("{{", StringComparison.Ordinal) && !MemoCache.IsValidKey(m.Key))
            fail($"{at}.key", $"'{m.Key}' is not a valid cache key: {MemoCache.KeyRule}");
        if (m.Cache?.ConfigMap?.Name is not { Length: > 0 } cm) fail($"{at}.cache.configMap.name", "missing: name the ConfigMap that holds the cache");
        else if (!ManifestValidator.IsDnsSubdomain(cm)) fail($"{at}.cache.configMap.name", $"'{cm}' is not a valid ConfigMap name");
        if (m.MaxAge is { Length: > 0 } age && !age.Contains("{{", StringComparison.Ordinal) && !Durations.TryParse(age, out _))
            fail($"{at}.maxAge", $"'{age}' is not a duration like 180s or 24h");
    }

    /// <summary>A typo in {{inputs.parameters.X}} is caught here instead of failing at run time.</summary>
    private static void CheckInputReferences(Template t, string at, Action<string, string> fail)
    {
        var declared = new HashSet<string>((t.Inputs?.Parameters ?? []).Select(p => p.Name), StringComparer.Ordinal);
        var declaredArtifacts = new HashSet<string>((t.Inputs?.Artifacts ?? []).Select(p => p.Name), StringComparer.Ordinal);
        // Inline templates have inputs of their own and are checked on their own.
        var steps = t.Steps is null ? null : Json.Clone(t.Steps);
        var dag = t.Dag is null ? null : Json.Clone(t.Dag);
        foreach (var call in (steps ?? []).SelectMany(g => g).Cast<TemplateCall>().Concat(dag?.Tasks ?? [])) call.Inline = null;
        var json = Json.Serialize(new { t.Container, t.Script, Steps = steps, Dag = dag, t.Suspend, t.Outputs, t.Http, t.Resource, t.ContainerSet, t.Memoize });
        foreach (Match m in InputRef().Matches(json))
        {
            var (kind, name) = (m.Groups[1].Value, m.Groups[2].Value);
            var known = kind == "parameters" ? declared : declaredArtifacts;
            if (!known.Contains(name))
                fail(at, $"template '{t.Name}' refers to {{{{inputs.{kind}.{name}}}}} but declares no such input");
        }
    }

    [GeneratedRegex(@"\{\{\s*inputs\.(parameters|artifacts)\.([A-Za-z0-9_-]+)(?=[\s.}])")]
    private static partial Regex InputRef();
}

using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Validation;

namespace EventGateway.Workflows.Submission;

/// <summary>
/// Everything between "here is a Workflow" and "it is stored": -p overrides, resolving and freezing
/// workflowTemplateRef and templateRef, and the checks that need the store. Refused input leaves
/// nothing behind.
/// </summary>
public sealed class WorkflowSubmitter(IResourceStore store, WorkflowLimits? limits = null, Cluster.IClusterObjects? cluster = null, StepsArePods? pods = null)
{
    private readonly WorkflowLimits _limits = limits ?? WorkflowLimits.Default;

    public async Task<Workflow> SubmitAsync(Workflow workflow, IReadOnlyList<KeyValuePair<string, string>>? parameters = null, string source = "<input>", CancellationToken ct = default)
    {
        var wf = await PrepareAsync(workflow, parameters, source, ct).ConfigureAwait(false);
        Telemetry.WorkflowTracing.Stamp(wf);
        return await store.CreateAsync(wf, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The workflow `argo submit --from KIND/NAME` makes from a stored CronWorkflow, WorkflowTemplate or
    /// ClusterWorkflowTemplate (see <see cref="WorkflowSources"/>), in namespace <paramref name="ns"/>; not yet submitted.
    /// </summary>
    /// <exception cref="ArgumentException">an unknown kind.</exception>
    /// <exception cref="NotFoundException">no such object.</exception>
    public async Task<Workflow> FromAsync(string kind, string ns, string name, CancellationToken ct = default)
    {
        var canonical = WorkflowSources.Kind(kind);
        Resource? source = canonical switch
        {
            "CronWorkflow" => await store.GetAsync<CronWorkflow>(ns, name, ct).ConfigureAwait(false),
            "WorkflowTemplate" => await store.GetAsync<WorkflowTemplate>(ns, name, ct).ConfigureAwait(false),
            _ => await store.GetAsync<ClusterWorkflowTemplate>("", name, ct).ConfigureAwait(false),
        };
        if (source is null)
            throw new NotFoundException(canonical == "ClusterWorkflowTemplate" ? $"ClusterWorkflowTemplate '{name}' not found" : $"{canonical} '{name}' not found in namespace '{ns}'");
        var wf = WorkflowSources.From(source);
        wf.Metadata.Namespace = ns;
        return wf;
    }

    /// <summary>Returns the workflow as it would be stored, or throws <see cref="ManifestException"/>.</summary>
    public async Task<Workflow> PrepareAsync(Workflow workflow, IReadOnlyList<KeyValuePair<string, string>>? parameters, string source, CancellationToken ct)
    {
        // Kubernetes mode: resource templates act on the cluster, which serves any kind.
        using var kinds = cluster is null ? null : ResourceKinds.ClusterServed();
        // Steps as pods: the pod carries podSpecPatch and the other pod-only fields.
        using var podFields = pods is null ? null : PodOnlyFields.Accept();
        var wf = Json.Clone(workflow);
        wf.Status = null;
        wf.Metadata.Namespace = wf.NamespaceOrDefault;
        var errors = new List<ManifestError>();
        void Fail(string path, string reason) =>
            errors.Add(new ManifestError(source, 0, "Workflow", wf.Metadata.Name ?? wf.Metadata.GenerateName, path, null, reason));

        var effective = wf.Spec;
        if (wf.Spec.WorkflowTemplateRef is { } wtr)
        {
            var referenced = wtr.ClusterScope == true
                ? (await store.GetAsync<ClusterWorkflowTemplate>("", wtr.Name ?? "", ct).ConfigureAwait(false))?.Spec
                : (await store.GetAsync<WorkflowTemplate>(wf.NamespaceOrDefault, wtr.Name ?? "", ct).ConfigureAwait(false))?.Spec;
            if (referenced is null)
            {
                Fail("spec.workflowTemplateRef.name", $"{(wtr.ClusterScope == true ? "ClusterWorkflowTemplate" : "WorkflowTemplate")} '{wtr.Name}' not found{(wtr.ClusterScope == true ? "" : $" in namespace '{wf.NamespaceOrDefault}'")}");
                throw new ManifestException(errors);
            }
            effective = Merge(Json.Clone(referenced), wf.Spec);
        }

        ApplyParameters(wf.Spec, effective, parameters, Fail);
        for (var i = 0; i < (effective.Arguments?.Parameters?.Count ?? 0); i++)
        {
            var p = effective.Arguments!.Parameters![i];
            if (p.Value is null && p.ValueFrom is null)
                Fail($"spec.arguments.parameters[{i}].value", $"parameter '{p.Name}' has no value: pass -p {p.Name}=VALUE");
            else if (p.Enum is { Count: > 0 } allowed && p.Value is { } v && !allowed.Contains(v))
                Fail($"spec.arguments.parameters[{i}].value", $"'{v}' is not one of the allowed values [{string.Join(", ", allowed)}]");
        }
        if (wf.Spec.WorkflowTemplateRef is not null)
            WorkflowValidator.ValidateSpec(effective, "spec", requireEntrypoint: true, Fail);

        var stored = new Dictionary<string, Template>(StringComparer.Ordinal);
        await FreezeTemplateRefsAsync(effective.Templates ?? [], effective.Hooks, wf.NamespaceOrDefault, stored, Fail, ct).ConfigureAwait(false);
        WorkflowValidator.ValidateTemplateRefArguments(
            (effective.Templates ?? []).Select((t, i) => ($"spec.templates[{i}]", t)).Concat(stored.Select(s => ($"status.storedTemplates[{s.Key}]", s.Value))),
            stored, tr => TemplateRefs.Key(tr, wf.NamespaceOrDefault), Fail);
        WorkflowValidator.ValidateBounds(effective.Templates ?? [], "spec.templates", _limits, Fail);
        WorkflowValidator.ValidateBounds(stored.Values, "status.storedTemplates", _limits, Fail);
        WorkflowValidator.ValidateNamespaceWalls(effective.Templates ?? [], "spec.templates", wf.NamespaceOrDefault, Fail);
        WorkflowValidator.ValidateNamespaceWalls(stored.Values, "status.storedTemplates", wf.NamespaceOrDefault, Fail);
        if (errors.Count > 0) throw new ManifestException(errors);

        if (wf.Spec.WorkflowTemplateRef is not null || stored.Count > 0)
        {
            wf.Status = new WorkflowStatus { Phase = WorkflowPhase.Pending };
            if (wf.Spec.WorkflowTemplateRef is not null) wf.Status.StoredWorkflowTemplateSpec = effective;
            if (stored.Count > 0) wf.Status.StoredTemplates = stored;
        }
        return wf;
    }

    /// <summary>-p name=value sets a declared workflow argument; an undeclared name is refused rather than ignored.</summary>
    private static void ApplyParameters(WorkflowSpec own, WorkflowSpec effective, IReadOnlyList<KeyValuePair<string, string>>? parameters, Action<string, string> fail)
    {
        foreach (var (name, value) in parameters ?? [])
        {
            var declared = effective.Arguments?.Parameters?.FirstOrDefault(p => p.Name == name);
            if (declared is null)
            {
                fail("spec.arguments.parameters", $"-p {name}: the workflow declares no argument '{name}' (declared: {string.Join(", ", effective.Arguments?.Parameters?.Select(p => p.Name) ?? [])})");
                continue;
            }
            declared.Value = value;
            declared.ValueFrom = null;
            if (!ReferenceEquals(own, effective))
            {
                own.Arguments ??= new Arguments();
                own.Arguments.Parameters ??= [];
                own.Arguments.Parameters.RemoveAll(p => p.Name == name);
                own.Arguments.Parameters.Add(new Parameter { Name = name, Value = value });
            }
        }
    }

    /// <summary>The workflow's own settings override the referenced template's; arguments merge by name.</summary>
    private static WorkflowSpec Merge(WorkflowSpec template, WorkflowSpec own)
    {
        template.Entrypoint = own.Entrypoint ?? template.Entrypoint;
        template.OnExit = own.OnExit ?? template.OnExit;
        template.Parallelism = own.Parallelism ?? template.Parallelism;
        template.ActiveDeadlineSeconds = own.ActiveDeadlineSeconds ?? template.ActiveDeadlineSeconds;
        template.ServiceAccountName = own.ServiceAccountName ?? template.ServiceAccountName;
        template.RetryStrategy = own.RetryStrategy ?? template.RetryStrategy;
        template.PodGC = own.PodGC ?? template.PodGC;
        template.TtlStrategy = own.TtlStrategy ?? template.TtlStrategy;
        template.Synchronization = own.Synchronization ?? template.Synchronization;
        template.Hooks = own.Hooks ?? template.Hooks;
        if (own.Templates is { Count: > 0 }) template.Templates = [.. template.Templates ?? [], .. own.Templates];
        foreach (var p in own.Arguments?.Parameters ?? [])
        {
            template.Arguments ??= new Arguments();
            template.Arguments.Parameters ??= [];
            var i = template.Arguments.Parameters.FindIndex(x => x.Name == p.Name);
            if (i >= 0) template.Arguments.Parameters[i] = Json.Clone(p);
            else template.Arguments.Parameters.Add(Json.Clone(p));
        }
        template.WorkflowTemplateRef = null;
        return template;
    }

    /// <summary>
    /// Copies every template reached through templateRef into the workflow. Names used inside a referenced
    /// template are rewritten to refs into its own WorkflowTemplate, so they resolve where they were written.
    /// </summary>
    private async Task FreezeTemplateRefsAsync(IEnumerable<Template> templates, Dictionary<string, LifecycleHook>? workflowHooks, string ns, Dictionary<string, Template> stored, Action<string, string> fail, CancellationToken ct)
    {
        var queue = new Queue<TemplateRef>(workflowHooks?.Values.Select(h => h.TemplateRef).OfType<TemplateRef>() ?? []);
        void Collect(Template t, TemplateRef? owner)
        {
            foreach (var hook in Calls(t).Select(c => c.Hooks).Append(t.Hooks).SelectMany(h => h?.Values.AsEnumerable() ?? []))
            {
                // As for calls: a hook inside a referenced template names a template of that same WorkflowTemplate.
                if (owner is not null && hook.Template is { } own && hook.TemplateRef is null)
                    (hook.TemplateRef, hook.Template) = (new TemplateRef { Name = owner.Name, Template = own, ClusterScope = owner.ClusterScope }, null);
                if (hook.TemplateRef is { } hookRef) queue.Enqueue(hookRef);
            }
            foreach (var call in Calls(t))
            {
                if (owner is not null && call.OnExit is { Length: > 0 } exit && !exit.Contains('/', StringComparison.Ordinal))
                {
                    // The exit handler is a template of the same WorkflowTemplate: freeze it and call it by its key.
                    var exitRef = new TemplateRef { Name = owner.Name, Template = exit, ClusterScope = owner.ClusterScope };
                    queue.Enqueue(exitRef);
                    call.OnExit = TemplateRefs.Key(exitRef, ns);
                }
                if (call.TemplateRef is { } tr) queue.Enqueue(tr);
                else if (owner is not null && call.Template is { } local && call.Inline is null)
                {
                    // A name inside a referenced template means a template of that same WorkflowTemplate.
                    call.TemplateRef = new TemplateRef { Name = owner.Name, Template = local, ClusterScope = owner.ClusterScope };
                    call.Template = null;
                    queue.Enqueue(call.TemplateRef);
                }
            }
        }
        foreach (var t in templates) Collect(t, null);
        while (queue.TryDequeue(out var tr))
        {
            var key = TemplateRefs.Key(tr, ns);
            if (stored.ContainsKey(key)) continue;
            var spec = tr.ClusterScope == true
                ? (await store.GetAsync<ClusterWorkflowTemplate>("", tr.Name ?? "", ct).ConfigureAwait(false))?.Spec
                : (await store.GetAsync<WorkflowTemplate>(ns, tr.Name ?? "", ct).ConfigureAwait(false))?.Spec;
            var found = spec?.Templates?.FirstOrDefault(x => x.Name == tr.Template);
            if (found is null)
            {
                fail("spec.templates", spec is null
                    ? $"templateRef: {(tr.ClusterScope == true ? "ClusterWorkflowTemplate" : "WorkflowTemplate")} '{tr.Name}' not found{(tr.ClusterScope == true ? " (clusterScope: true)" : $" in namespace '{ns}'")}"
                    : $"templateRef: template '{tr.Template}' not found in {(tr.ClusterScope == true ? "ClusterWorkflowTemplate" : "WorkflowTemplate")} '{tr.Name}'");
                continue;
            }
            var copy = Json.Clone(found);
            stored[key] = copy;
            Collect(copy, tr);
        }
    }

    private static IEnumerable<TemplateCall> Calls(Template t)
    {
        foreach (var group in t.Steps ?? []) foreach (var s in group) yield return s;
        foreach (var task in t.Dag?.Tasks ?? []) yield return task;
    }
}

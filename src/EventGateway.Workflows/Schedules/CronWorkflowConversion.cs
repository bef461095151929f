using EventGateway.Model;

namespace EventGateway.Workflows.Schedules;

/// <summary>
/// The pre-4.0 singular <c>spec.schedule</c>, as the primer seed writes it: accepted, converted to the
/// <c>schedules</c> list as <c>argo convert</c> would, with a warning that says what to write instead.
/// </summary>
public static class CronWorkflowConversion
{
    /// <summary>The warning for a CronWorkflow still using <c>schedule</c>, or null.</summary>
    public static string? Warning(CronWorkflow cron) => cron.Spec.Schedule is { } s && cron.Spec.Schedules is not { Count: > 0 }
        ? $"CronWorkflow/{cron.Name}: spec.schedule is the pre-4.0 form and was converted to spec.schedules: [\"{s}\"]; write `schedules:` (a list) instead"
        : null;

    /// <summary>Moves a singular <c>schedule</c> into <c>schedules</c>; returns the warning, or null when there was nothing to convert.</summary>
    public static string? Convert(CronWorkflow cron)
    {
        var warning = Warning(cron);
        if (warning is null) return null;
        cron.Spec.Schedules = [cron.Spec.Schedule!];
        cron.Spec.Schedule = null;
        return warning;
    }

    /// <summary>Converts every CronWorkflow among <paramref name="resources"/>; returns the warnings.</summary>
    public static IReadOnlyList<string> ConvertAll(IEnumerable<Resource> resources) =>
        resources.OfType<CronWorkflow>().Select(Convert).OfType<string>().ToList();
}

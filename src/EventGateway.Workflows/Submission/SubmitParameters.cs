namespace EventGateway.Workflows.Submission;

/// <summary>The <c>name=value</c> form of a submission's parameters, shared by `egw run -p`, the REST API and submitOptions.</summary>
public static class SubmitParameters
{
    /// <summary>Splits at the first '=', so a value may hold '=' itself.</summary>
    /// <exception cref="FormatException">an item without a name before '='.</exception>
    public static List<KeyValuePair<string, string>> Parse(IEnumerable<string> items) =>
        items.Select(p => p.IndexOf('=') is var i and > 0
            ? KeyValuePair.Create(p[..i], p[(i + 1)..])
            : throw new FormatException($"parameter '{p}' must look like name=value")).ToList();
}

"""The Reports page's parts: one shift's report to read and download
(:mod:`app.reports.shift`) and the project's mailed schedules (:mod:`app.reports.schedules`)."""

"""Files the drop zone's tests upload, with and without a browser."""

# What Excel writes in Germany: semicolons, decimal commas, i.O. / n.i.O. for the result.
GERMAN = (
    b"curve_key;x;y;station;result\n"
    b"P-1;0,000;0,12;ST010;i.O.\n"
    b"P-1;0,010;0,98;ST010;i.O.\n"
    b"P-1;0,020;2,31;ST010;i.O.\n"
    b"P-2;0;0,15;ST010;n.i.O.\n"
    b"P-2;1;1,02;ST010;n.i.O.\n"
)

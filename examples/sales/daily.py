# Databricks notebook source
# MAGIC %md
# MAGIC # Daily sales (driver): the day's notebooks run once per day of data
# MAGIC Each day's raw file lands in `sales/daily/raw/date=YYYY-MM-DD/`. The flow runs the two day
# MAGIC notebooks for every day that has no successful run yet: the first run backfills the month,
# MAGIC a later run, after a new day landed, runs only that day.
# MAGIC `dtflw run examples/sales/daily.py`, then `dtflw run examples/sales/daily.py -p through=2023-03-31`.

# COMMAND ----------

from sales_data import land_daily_files

from dtflw import init_flow
from dtflw.storage.dbfs import init_storage

dbutils.widgets.text("month", "2023-03")
dbutils.widgets.text("through", "2023-03-25")  # the last day whose file has landed
storage = init_storage(format="parquet")  # dbfs:/FileStore/<user>/...
flow = init_flow(storage, name="sales-daily")
raw_dir = land_daily_files(storage, dbutils, dbutils.widgets.get("month"), dbutils.widgets.get("through"))
daily = storage.get_path_in_root_dir("sales/daily")

# COMMAND ----------

# One iteration per day: `{date}` in a path is the day's value, and the notebooks get it as a widget.
(
    flow.notebook("daily/ingest_day")
    .input("DayRaw", file_path=f"{raw_dir}/date={{date}}/orders.csv")
    .output("DayOrders", file_path=f"{daily}/orders/date={{date}}")
    .add()
)
(
    flow.notebook("daily/revenue_day")
    .input("DayOrders")
    .output("DayRevenue", file_path=f"{daily}/revenue/date={{date}}")
    .add()
)

result = flow.run(for_new_partitions_of="DayRaw", param="date")
ran = sorted({r.notebook.split("[date=", 1)[1].rstrip("]") for r in result if r.status.value == "succeeded"})

# COMMAND ----------

# Every day so far: the partition folders read as one table (`date` comes from their names).
days = spark.read.parquet(storage.get_abs_path(f"{daily}/revenue"))
total = days.agg({"revenue": "sum"}).first()[0]
shown = ", ".join(ran) or "none"
dbutils.notebook.exit(f"ran {len(ran)} day(s): {shown}; revenue {total:.2f} over {days.count()} days")

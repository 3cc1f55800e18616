# Databricks notebook source
# MAGIC %md
# MAGIC # Sales pipeline (driver)
# MAGIC Raw CSV -> bronze -> silver (Delta MERGE) -> two gold tables (nested driver) -> report.
# MAGIC Runs unchanged on Databricks and locally with `dtflw run examples/sales/main.py`.

# COMMAND ----------

from sales_data import land_raw_files

from dtflw import init_flow
from dtflw.storage.dbfs import init_storage

dbutils.widgets.text("year", "2023")
dbutils.widgets.dropdown("lazy", "true", ["true", "false"])
year = dbutils.widgets.get("year")
is_lazy = dbutils.widgets.get("lazy") == "true"

storage = init_storage(format="delta")  # dbfs:/FileStore/<user>/...
flow = init_flow(storage)

# COMMAND ----------

# DBTITLE 1,Land the raw files (an upload step on a real workspace)
raw_dir = land_raw_files(storage, dbutils)

# COMMAND ----------

(
    flow.notebook("ingest")
    .input("SalesRaw", file_path=f"{raw_dir}/orders_*.csv")
    .input("CustomersRaw", file_path=f"{raw_dir}/customers.csv")
    .output("OrdersBronze")
    .output("CustomersBronze")
    .run(is_lazy)
)

(
    flow.notebook("silver/merge_orders")
    .input("OrdersBronze")
    .input("CustomersBronze")
    .output(
        "Orders",
        alias="OrdersSilver",
        cols="order_id INT, order_date DATE, customer_id INT, country STRING, product STRING, amount DOUBLE",
    )
    .run(is_lazy)
)

(
    flow.notebook("gold/main")
    .args({"year": year, "lazy": str(is_lazy).lower()})
    .input("OrdersSilver")
    .output("RevenueByMonth")
    .output("TopCustomers")
    .run(is_lazy)
)

summary = flow.notebook("report").input("RevenueByMonth").input("TopCustomers").run()

# COMMAND ----------

# DBTITLE 1,Lineage and a preview
flow.show()
print(f"\nRevenueByMonth ({year}):")
storage.read_table(flow["RevenueByMonth"]).orderBy("month").show(12, truncate=False)
dbutils.notebook.exit(summary)

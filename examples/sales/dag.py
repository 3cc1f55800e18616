# Databricks notebook source
# MAGIC %md
# MAGIC # Sales pipeline as a DAG
# MAGIC The same notebooks as `main`, declared with `.add()` and run by `flow.run()`: the two gold
# MAGIC notebooks run in parallel, and `lazy="auto"` re-runs only what is out of date.

# COMMAND ----------

from sales_data import land_raw_files

from dtflw import init_flow
from dtflw.storage.dbfs import init_storage

dbutils.widgets.text("year", "2023")
year = dbutils.widgets.get("year")
storage = init_storage(format="delta")
flow = init_flow(storage, name="sales-dag")

raw_dir = land_raw_files(storage, dbutils)

# COMMAND ----------

(
    flow.notebook("ingest")
    .input("SalesRaw", file_path=f"{raw_dir}/orders_*.csv")
    .input("CustomersRaw", file_path=f"{raw_dir}/customers.csv")
    .output("OrdersBronze")
    .output("CustomersBronze")
    .add()
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
    .retries(1)
    .add()
)
(
    flow.notebook("gold/revenue_by_month")
    .args({"year": year})
    .input("Orders", source_table="OrdersSilver")
    .output("RevenueByMonth")
    .tags("gold")
    .add()
)
(
    flow.notebook("gold/top_customers")
    .args({"year": year, "top": "5"})
    .input("Orders", source_table="OrdersSilver")
    .output("TopCustomers")
    .tags("gold")
    .add()
)
(flow.notebook("report").input("RevenueByMonth").input("TopCustomers").add())

# COMMAND ----------

result = flow.run(max_workers=2, lazy="auto")
print(result)
dbutils.notebook.exit(result["report"].exit_value or "up to date")

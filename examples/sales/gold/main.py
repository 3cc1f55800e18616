# Databricks notebook source
# MAGIC %md
# MAGIC ## Gold (nested driver): two sibling notebooks computed from the silver orders

# COMMAND ----------

from dtflw import init_args, init_flow, init_inputs, init_outputs
from dtflw.storage.dbfs import init_storage

args = init_args({"year": "2023", "lazy": "true"})
silver = init_inputs("OrdersSilver")["OrdersSilver"].value
outputs = init_outputs("RevenueByMonth", "TopCustomers")
is_lazy = args["lazy"].value == "true"

flow = init_flow(init_storage(format="delta"))

# COMMAND ----------

(
    flow.notebook("revenue_by_month")
    .args({"year": args["year"].value})
    .input("Orders", file_path=silver)
    .output("RevenueByMonth", file_path=outputs["RevenueByMonth"].value)
    .run(is_lazy)
)

(
    flow.notebook("top_customers")
    .args({"year": args["year"].value, "top": "5"})
    .input("Orders", file_path=silver)
    .output("TopCustomers", file_path=outputs["TopCustomers"].value)
    .run(is_lazy)
)

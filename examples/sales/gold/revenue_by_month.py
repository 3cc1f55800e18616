# Databricks notebook source
import pyspark.sql.functions as F

from dtflw import init_args, init_inputs, init_outputs

year = int(init_args("year")["year"].value)
orders = spark.read.format("delta").load(init_inputs("Orders")["Orders"].value)
out = init_outputs("RevenueByMonth")["RevenueByMonth"].value

# COMMAND ----------

(
    orders.where(F.year("order_date") == year)
    .groupBy(F.month("order_date").alias("month"))
    .agg(F.round(F.sum("amount"), 2).alias("revenue"), F.count("*").alias("orders"))
    .write.format("delta")
    .mode("overwrite")
    .save(out)
)
